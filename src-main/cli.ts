import { Command, InvalidArgumentError, Option } from 'commander'
import cliProgress from 'cli-progress'
import { ApiError, CLASS_PRESETS, IMPORT_FORMATS, type ImportRequest } from '../src-shared/api/contract'
import { SmallsetApp, APP_VERSION } from './api/app'
import { startWebHost } from './host/web'
import { openDemoProject } from './project/demo'
import { defaultDemoDir, rendererDir, resourcesDir } from './paths'

/** The headless face of Smallset: the same services as the app, driven from a terminal. */

function fail(message: string): never {
  process.stderr.write(`smallset: ${message}\n`)
  process.exit(1)
}

function int(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n)) throw new InvalidArgumentError('not an integer')
  return n
}

function openOrFail(app: SmallsetApp, dir: string): void {
  try {
    app.openProject(dir)
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e))
  }
}

const program = new Command()
program.name('smallset').description('Small-data computer vision: label, train, review.').version(APP_VERSION)

program
  .command('init')
  .description('create a new, empty project')
  .argument('<project-dir>')
  .option('--name <name>', 'project name (default: the folder name)')
  .action((dir: string, o: { name?: string }) => {
    const app = new SmallsetApp()
    try {
      const s = app.createProject(dir, o.name)
      process.stdout.write(`Created project "${s.name}" in ${s.dir}\n`)
    } catch (e) {
      fail((e as Error).message)
    } finally {
      app.close()
    }
  })

program
  .command('import')
  .description('import images: files, folders (recursively), class-per-folder trees or IDX files')
  .argument('<project-dir>')
  .argument('<paths...>')
  .addOption(
    new Option('--format <format>', 'how to read the source').choices(IMPORT_FORMATS).default('auto'),
  )
  .addOption(new Option('--preset <preset>', 'class names for IDX labels').choices(CLASS_PRESETS))
  .option('--classes <names>', 'comma-separated class names for IDX labels 0..n-1')
  .option('--seed <n>', 'seed for the train/val/test split where the source has none', int, 42)
  .option('--json', 'print the report as JSON')
  .option('--no-progress', 'no progress bar')
  .action(
    async (
      dir: string,
      paths: string[],
      o: {
        format: ImportRequest['format']
        preset?: ImportRequest['preset']
        classes?: string
        seed: number
        json?: boolean
        progress: boolean
      },
    ) => {
      const app = new SmallsetApp()
      openOrFail(app, dir)
      const ac = new AbortController()
      process.once('SIGINT', () => ac.abort())
      const bar =
        o.progress && process.stderr.isTTY
          ? new cliProgress.SingleBar(
              {
                format:
                  'importing [{bar}] {value}/{total} | added {added} | duplicates {dups} | failed {failed} | {eta}s left',
                stream: process.stderr,
              },
              cliProgress.Presets.shades_classic,
            )
          : null
      let started = false
      try {
        const report = await app.importNow(
          {
            paths,
            format: o.format,
            preset: o.preset,
            classNames: o.classes?.split(',').map((s) => s.trim()),
            seed: o.seed,
          },
          {
            signal: ac.signal,
            onProgress: (p) => {
              if (!bar || p.phase !== 'importing') return
              const payload = { added: p.added, dups: p.duplicates, failed: p.failed }
              if (!started) {
                bar.start(p.total, p.done, payload)
                started = true
              } else bar.update(p.done, payload)
            },
          },
        )
        if (started) {
          bar!.update(report.added + report.duplicates)
          bar!.stop()
        }
        if (o.json) process.stdout.write(JSON.stringify(report) + '\n')
        else {
          process.stdout.write(
            `${report.cancelled ? 'Cancelled after' : 'Imported'} ${report.added} images (${report.duplicates} duplicates skipped, ` +
              `${report.failed.length} failed, ${report.ignored} non-image files ignored) in ${(report.durationMs / 1000).toFixed(1)} s\n`,
          )
          if (report.classesCreated.length)
            process.stdout.write(`New classes: ${report.classesCreated.join(', ')}\n`)
          for (const f of report.failed) process.stdout.write(`  failed: ${f.path}: ${f.reason}\n`)
        }
        process.exitCode = report.cancelled ? 130 : 0
      } catch (e) {
        fail(e instanceof ApiError ? e.message : String(e))
      } finally {
        app.close()
      }
    },
  )

program
  .command('info')
  .description('counts by split, class and annotation kind')
  .argument('<project-dir>')
  .option('--json', 'print JSON')
  .action(async (dir: string, o: { json?: boolean }) => {
    const app = new SmallsetApp()
    openOrFail(app, dir)
    const res = await app.dispatch('app.info', {})
    app.close()
    if (!res.ok) fail(res.error.message)
    const { project } = res.value as { project: import('../src-shared/api/contract').ProjectSummary }
    const c = project.counts
    if (o.json) {
      process.stdout.write(
        JSON.stringify({ name: project.name, dir: project.dir, schemaVersion: project.schemaVersion, ...c }) +
          '\n',
      )
      return
    }
    process.stdout.write(`${project.name} (${project.dir})\n${c.images} images\n`)
    process.stdout.write(
      `splits: ${
        Object.entries(c.bySplit)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'none'
      }\n`,
    )
    process.stdout.write(
      `classes:\n${c.byClass.map((k) => `  ${k.name}: ${k.count}`).join('\n') || '  none'}\n`,
    )
    process.stdout.write(
      `annotations: ${
        Object.entries(c.byAnnotationKind)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'none'
      }\n`,
    )
  })

program
  .command('demo')
  .description('make (or open) the demo project: 300 Fashion-MNIST images')
  .argument('[project-dir]', 'where to make it', defaultDemoDir())
  .action(async (dir: string) => {
    const app = new SmallsetApp()
    try {
      await openDemoProject(app, dir, resourcesDir())
      process.stdout.write(`Demo project ready in ${app.projectDir}\n`)
    } catch (e) {
      fail((e as Error).message)
    } finally {
      app.close()
    }
  })

program
  .command('serve')
  .description('serve the app to a browser on 127.0.0.1, with a per-launch token')
  .argument('[project-dir]', 'project to open (default: the demo project, made if missing)')
  .option('--port <n>', 'port (default: any free one)', int)
  .option('--no-project', 'start with no project open')
  .action(async (dir: string | undefined, o: { port?: number; project: boolean }) => {
    const app = new SmallsetApp()
    try {
      if (dir) app.openProject(dir)
      else if (o.project) await openDemoProject(app, defaultDemoDir(), resourcesDir())
    } catch (e) {
      fail((e as Error).message)
    }
    const host = await startWebHost({
      app,
      rendererDir: rendererDir(),
      port: o.port,
      token: process.env.SMALLSET_TOKEN,
    })
    process.stdout.write(`Smallset is serving ${app.projectDir ?? 'no project'}\nOpen ${host.launchUrl}\n`)
    const stop = () => {
      void host.close().then(() => {
        app.close()
        process.exit(0)
      })
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })

program.parseAsync(process.argv).catch((e: unknown) => fail(e instanceof Error ? e.message : String(e)))
