#!/usr/bin/env node
// The `smallset` command. It runs the built CLI (npm run build makes out/main/cli.js).
const fs = require('node:fs')
const path = require('node:path')
const cli = path.join(__dirname, '..', 'out', 'main', 'cli.js')
if (!fs.existsSync(cli)) {
  process.stderr.write(
    'smallset: the app is not built yet. Run "npm run build" in ' + path.dirname(__dirname) + '\n',
  )
  process.exit(1)
}
require(cli)
