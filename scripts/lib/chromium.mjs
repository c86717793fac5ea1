// Debian's Chromium, launched as the e2e tests launch it (see playwright.config.ts): the benchmarks
// that drive a page share these options. `npx playwright install` cannot download a browser here.
export const chromiumLaunchOptions = {
  executablePath: process.env.SMALLSET_CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--headless=new',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
  ],
}
