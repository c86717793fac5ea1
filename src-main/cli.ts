import path from 'node:path'
import { Command, InvalidArgumentError, Option } from 'commander'
import cliProgress from 'cli-progress'
import {
  ApiError,
  CLASS_PRESETS,
  DEMO_KINDS,
  DEFAULT_MAX_FILE_MB,
  IMPORT_FORMATS,
  type DemoKind,
  type Res,
  type EventPayload,
  type ImportRequest,
} from '../src-shared/api/contract'
import {
  DATASET_EXPORT_FORMATS,
  type DatasetExportFormat,
  type ExportCocoResult,
  type ExportDatasetResult,
} from '../src-shared/api/exchange'
import { SPLITS, type ClassLabel, type Split } from '../src-shared/domain/types'
import {
  BACKENDS,
  DETECTION_MODELS,
  MODEL_PRESETS,
  TASKS,
  type CocoStats,
  type RunDetail,
  type Task,
  type TrainConfig,
} from '../src-shared/api/train'
import { detectionStats } from '../src-shared/domain/detections'
import { printable } from '../src-shared/domain/terminal'
import { AUGMENT_PRESET_CONFIGS } from './train/tasks/classify/models/presets'
import { SmallsetApp, APP_VERSION } from './api/app'
import { startWebHost } from './host/web'
import { openDemoProject } from './project/demo'
import { SCENE_PRESETS, writeCocoSceneSet, type SceneSplit } from './project/scenes'
import { defaultDemoDir, rendererDir, resourcesDir } from './paths'

type Backend = (typeof BACKENDS)[number]

/** The headless face of Smallset: the same services as the app, driven from a terminal. */

function fail(message: string): never {
  process.stderr.write(`smallset: ${printable(message)}\n`)
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

interface TrainFlags {
  task: Task
  model?: string
  epochs?: number
  lr?: number
  batch?: number
  optimizer?: 'sgd' | 'adam' | 'rmsprop'
  momentum?: number
  seed?: number
  validation?: string
  patience?: number
  augment?: string
  testEachEpoch?: boolean
  pin?: string
  backend?: string
  resume?: number
  json?: boolean
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
      process.stdout.write(`Created project "${printable(s.name)}" in ${printable(s.dir)}\n`)
    } catch (e) {
      fail((e as Error).message)
    } finally {
      app.close()
    }
  })

program
  .command('import')
  .description(
    'import images: files, folders (recursively), class-per-folder trees, IDX files, COCO, YOLO, Pascal VOC or labelme',
  )
  .argument('<project-dir>')
  .argument('<paths...>')
  .addOption(
    new Option('--format <format>', 'how to read the source (folders: class-folders)')
      .choices([...IMPORT_FORMATS, 'folders'])
      .default('auto'),
  )
  .addOption(new Option('--preset <preset>', 'class names for IDX labels').choices(CLASS_PRESETS))
  .option('--classes <names>', 'comma-separated class names for IDX labels 0..n-1')
  .option('--images <dir>', 'COCO: the folder holding the images file_name names (default: beside the JSON)')
  .option('--seed <n>', 'seed for the train/val/test split where the source has none', int, 42)
  .option(
    '--max-file-mb <mb>',
    'the largest image file to read, in MB; larger ones are reported and skipped',
    Number,
    DEFAULT_MAX_FILE_MB,
  )
  .option('--json', 'print the report as JSON')
  .option('--no-progress', 'no progress bar')
  .action(
    async (
      dir: string,
      paths: string[],
      o: {
        format: ImportRequest['format'] | 'folders'
        maxFileMb: number
        preset?: ImportRequest['preset']
        classes?: string
        images?: string
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
            format: o.format === 'folders' ? 'class-folders' : o.format,
            maxFileMb: o.maxFileMb,
            preset: o.preset,
            classNames: o.classes?.split(',').map((s) => s.trim()),
            seed: o.seed,
            ...(o.images && { images: o.images }),
          },
          {
            signal: ac.signal,
            raiseHint: '--max-file-mb',
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
            process.stdout.write(`New classes: ${report.classesCreated.map(printable).join(', ')}\n`)
          for (const f of report.failed)
            process.stdout.write(
              `  failed: ${printable(f.path)}${f.element ? ` (${printable(f.element)})` : ''}: ${printable(f.reason)}\n`,
            )
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
  .command('export')
  .description(
    "write the project (or one split) as COCO (annotations.json, images/, a run's predictions.json), " +
      'YOLO (data.yaml, images/, labels/), Pascal VOC (Annotations/, JPEGImages/, ImageSets/Main), ' +
      'labelme (<split>/<image> beside <split>/<stem>.json) or ImageFolder (<split>/<class>/<image>, image tags)',
  )
  .argument('<project-dir>')
  .addOption(
    new Option('--format <format>', 'what to write')
      .choices(['coco', ...DATASET_EXPORT_FORMATS])
      .default('coco'),
  )
  .addOption(new Option('--split <split>', 'only this split (default: every image)').choices(SPLITS))
  .option('--run <id>', "COCO: also write predictions.json from this run's final test-split detections", int)
  .requiredOption('--out <dir>', 'the folder to write (new or empty)')
  .option('--json', 'print the result as JSON')
  .action(
    async (
      dir: string,
      o: { format: 'coco' | DatasetExportFormat; split?: Split; run?: number; out: string; json?: boolean },
    ) => {
      if (o.format !== 'coco') {
        if (o.run !== undefined)
          fail(`--run writes COCO predictions: it needs --format coco, not ${o.format}`)
        const app = new SmallsetApp()
        openOrFail(app, dir)
        const r = await app.dispatch('export.dataset', { format: o.format, dir: o.out, split: o.split })
        app.close()
        if (!r.ok) fail(r.error.message)
        const x = r.value as ExportDatasetResult
        if (o.json) {
          process.stdout.write(JSON.stringify(x) + '\n')
          return
        }
        process.stdout.write(
          `Wrote ${printable(x.dir)} as ${o.format}: ${x.images} images, ${x.annotations} ` +
            `${o.format === 'imagefolder' ? 'tagged images' : o.format === 'labelme' ? 'shapes' : 'objects'}` +
            `${o.split ? ` (${o.split} split)` : ''}, ${x.files.length} files\n`,
        )
        for (const n of x.notes) process.stdout.write(`  note: ${printable(n)}\n`)
        if (x.trainCommand) process.stdout.write(`Train on it with:\n  ${printable(x.trainCommand)}\n`)
        return
      }
      const app = new SmallsetApp()
      openOrFail(app, dir)
      const r = await app.dispatch('export.coco', { dir: o.out, split: o.split, runId: o.run })
      app.close()
      if (!r.ok) fail(r.error.message)
      const x = r.value as ExportCocoResult
      if (o.json) {
        process.stdout.write(JSON.stringify(x) + '\n')
        return
      }
      const out = path.resolve(o.out)
      process.stdout.write(
        `Wrote ${printable(path.join(out, 'annotations.json'))}: ${x.images} images, ${x.annotations} annotations` +
          `${o.split ? ` (${o.split} split)` : ''}\nWrote ${x.images} image files under ${printable(path.join(out, 'images'))}\n`,
      )
      if (x.predictions !== null) {
        process.stdout.write(
          `Wrote ${printable(path.join(out, 'predictions.json'))}: ${x.predictions} detections from run ${o.run}\n`,
        )
        const n = x.imagesWithoutPredictions.count
        if (n)
          process.stdout.write(
            `${n} of ${x.images} images have no stored predictions from run ${o.run} (only its final test-split predictions are stored): ` +
              `ids ${x.imagesWithoutPredictions.ids.slice(0, 20).join(', ')}${n > 20 ? ', …' : ''}\n`,
          )
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
    process.stdout.write(`${printable(project.name)} (${printable(project.dir)})\n${c.images} images\n`)
    process.stdout.write(
      `splits: ${
        Object.entries(c.bySplit)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'none'
      }\n`,
    )
    process.stdout.write(
      `classes:\n${c.byClass.map((k) => `  ${printable(k.name)}: ${k.count}`).join('\n') || '  none'}\n`,
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
  .command('train')
  .description(
    'train a classifier, a detector or an instance segmentation model; prints one JSON line per epoch with --json, then a summary',
  )
  .argument('<project-dir>')
  .addOption(new Option('--task <task>', 'what to learn').choices(TASKS).default('classify'))
  .addOption(
    new Option(
      '--model <preset>',
      'classification: the model preset (default auto: chosen from the project, its reasons on stderr); detect/segment: mobilenet-v2 (default) or centernet-s (from scratch)',
    ).choices([...MODEL_PRESETS.filter((m) => m !== 'custom'), ...DETECTION_MODELS]),
  )
  .option('--epochs <n>', "epochs (default: the preset's)", int)
  .option('--lr <x>', 'learning rate', Number)
  .option('--batch <n>', 'batch size', int)
  .addOption(
    new Option('--optimizer <name>', 'optimizer (rmsprop: classification only)').choices([
      'sgd',
      'adam',
      'rmsprop',
    ]),
  )
  .option('--momentum <x>', 'SGD momentum', Number)
  .option('--seed <n>', 'seed', int)
  .option('--validation <source>', "'val', 'test', or a fraction of train such as 0.1")
  .option('--patience <n>', 'early stopping patience (epochs)', int)
  .addOption(
    new Option('--augment <preset>', 'classification: augmentation preset').choices(
      Object.keys(AUGMENT_PRESET_CONFIGS),
    ),
  )
  .option('--test-each-epoch', 'evaluate on the test split after every epoch')
  .option('--pin <ids>', 'comma-separated image ids whose top-3 or detections are recorded every epoch')
  .addOption(new Option('--backend <name>', 'force a backend').choices([...BACKENDS]))
  .option(
    '--resume <run-id>',
    'resume a cancelled or failed run from its last checkpoint (other options are ignored)',
    int,
  )
  .option('--json', 'JSON lines')
  .action(async (dir: string, o: TrainFlags) => {
    if (o.backend) process.env.SMALLSET_BACKEND = o.backend
    const app = new SmallsetApp()
    openOrFail(app, dir)
    const out = (v: unknown) => process.stdout.write((typeof v === 'string' ? v : JSON.stringify(v)) + '\n')
    const defaults =
      o.resume === undefined
        ? await app.dispatch('train.defaults', {
            task: o.task,
            ...(o.task === 'classify' && o.model && { model: o.model as (typeof MODEL_PRESETS)[number] }),
          })
        : { ok: true as const, value: { task: o.task } }
    if (!defaults.ok) fail(defaults.error.message)
    const { notes, ...base } = defaults.value as TrainConfig & { notes?: string[] }
    const overridden = (f: TrainFlags) =>
      [f.epochs, f.lr, f.batch, f.optimizer, f.momentum, f.seed, f.validation, f.patience, f.augment].some(
        (v) => v !== undefined,
      )
    // Why the recipe is what it is (`auto` explains each choice from the project): on stderr, so
    // that --json stdout stays one JSON object a line.
    if (notes?.length && o.resume === undefined && base.task === 'classify' && base.model === 'auto')
      process.stderr.write(
        `auto recipe${overridden(o) ? ' (the options given here override it)' : ''}:\n` +
          `${notes.map((n) => `  - ${n}`).join('\n')}\n`,
      )
    if (o.model && o.resume === undefined) {
      const detection = (DETECTION_MODELS as readonly string[]).includes(o.model)
      if (detection !== (o.task !== 'classify'))
        fail(
          `--model ${o.model} is a ${detection ? 'detection' : 'classification'} model: it needs --task ${detection ? 'detect or segment' : 'classify'}`,
        )
    }
    const config = {
      ...base,
      ...(o.task !== 'classify' && o.model && { model: o.model }),
      ...(o.epochs !== undefined && { epochs: o.epochs }),
      ...(o.lr !== undefined && { learningRate: o.lr }),
      ...(o.batch !== undefined && { batchSize: o.batch }),
      ...(o.optimizer && { optimizer: o.optimizer }),
      ...(o.momentum !== undefined && { momentum: o.momentum }),
      ...(o.seed !== undefined && { seed: o.seed }),
      ...(o.validation && {
        validation: o.validation === 'val' || o.validation === 'test' ? o.validation : Number(o.validation),
      }),
      ...(o.patience && { earlyStopping: { patience: o.patience } }),
      ...(o.augment && { augment: AUGMENT_PRESET_CONFIGS[o.augment as keyof typeof AUGMENT_PRESET_CONFIGS] }),
      ...(o.testEachEpoch && { testEachEpoch: true }),
      ...(o.pin && { pinnedImageIds: o.pin.split(',').map(Number) }),
    } as TrainConfig
    const threshold = 'displayThreshold' in base ? (base.displayThreshold ?? 0.5) : 0.5
    let backend = ''
    let runId = -1
    const finished = new Promise<void>((resolve) => {
      app.onEvent((event, p) => {
        if (event === 'train.started') {
          const e = p as EventPayload<'train.started'>
          backend = e.backend.name
          if (!o.json) out(`backend: ${e.backend.name} (${printable(e.backend.reason)})`)
        } else if (event === 'train.epoch') {
          const e = p as EventPayload<'train.epoch'>
          const { metrics, batchLoss: _b, ...m } = e.metrics
          // Detection: per pinned image, how many detections are shown, and the top and mean score.
          const pinned = e.pinned.map((q) =>
            q.detections
              ? { image_id: q.imageId, ...detectionStats(q.detections, threshold) }
              : { image_id: q.imageId, top3: q.top3 },
          )
          if (o.json) out({ type: 'epoch', run: e.runId, ...m, ...metrics, pinned })
          else
            out(
              `epoch ${m.epoch}: loss ${m.loss.toFixed(4)}` +
                (m.valLoss !== null ? ` | val loss ${m.valLoss.toFixed(4)}` : '') +
                Object.entries(metrics)
                  .map(
                    ([k, v]) =>
                      ` | ${k} ${/accuracy|map/.test(k) ? `${(100 * v).toFixed(2)}%` : v.toFixed(4)}`,
                  )
                  .join('') +
                pinned
                  .map((q) =>
                    'shown' in q
                      ? ` | #${q.image_id}: ${q.shown} shown, max ${q.maxScore?.toFixed(3) ?? '–'}`
                      : '',
                  )
                  .join('') +
                ` | ${Math.round(m.imagesPerS)} img/s`,
            )
        } else if (event === 'train.batch' && !o.json && process.stderr.isTTY) {
          const e = p as EventPayload<'train.batch'>
          process.stderr.write(
            `\r  epoch ${e.epoch} batch ${e.batch}/${e.batches} loss ${e.smoothLoss.toFixed(4)} ${Math.round(e.imagesPerS)} img/s  `,
          )
        } else if (event === 'train.finished' && (p as EventPayload<'train.finished'>).runId === runId)
          resolve()
      })
    })
    const started =
      o.resume !== undefined
        ? await app.dispatch('train.resume', { runId: o.resume })
        : await app.dispatch('train.start', { config })
    if (!started.ok) fail(started.error.message)
    runId = (started.value as { runId: number }).runId
    process.once('SIGINT', () => void app.dispatch('train.cancel', { runId }))
    await finished
    const detail = await app.dispatch('runs.get', { runId })
    app.close()
    if (!detail.ok) fail(detail.error.message)
    const d = detail.value as RunDetail
    const history = d.history
    const trained = history.reduce((n, h) => n + h.imagesPerS * h.seconds, 0)
    const seconds = history.reduce((n, h) => n + h.seconds, 0)
    const summary = {
      type: 'summary',
      run: runId,
      status: d.summary.status,
      error: d.summary.error,
      task: d.summary.task,
      model: d.summary.model,
      epochs: history.length,
      backend: d.summary.backend ?? backend,
      seconds,
      train_samples_per_s: seconds ? trained / seconds : null,
      best_epoch: d.summary.bestEpoch,
      ...(d.summary.task === 'classify'
        ? {
            test_accuracy: d.evaluation?.accuracy ?? null,
            test_loss: d.evaluation?.loss ?? null,
            per_class_accuracy:
              d.evaluation?.perClass.map((p) => ({ class_id: p.classId, accuracy: p.accuracy })) ?? null,
          }
        : (d.summary.testMetrics ?? {})),
    }
    if (o.json) out(summary)
    else if (!history.length && summary.error)
      // Failed before its first epoch (no backend started, bad data): only the reason says anything.
      out(`run ${runId} ${summary.status}: ${printable(summary.error)}`)
    else
      out(
        `run ${runId} ${summary.status}: ` +
          (d.summary.task === 'classify'
            ? `test accuracy ${d.evaluation ? (100 * d.evaluation.accuracy).toFixed(2) + '%' : 'n/a'}`
            : Object.entries(d.summary.testMetrics ?? {})
                .filter(([k]) => /^(box|mask)_map(50)?$/.test(k))
                .map(([k, v]) => `test ${k} ${v.toFixed(3)}`)
                .join(', ') || 'no test figures') +
          `, ${Math.round(summary.train_samples_per_s ?? 0)} training img/s on ${summary.backend}` +
          (summary.error ? ` (${printable(summary.error)})` : ''),
      )
    process.exitCode = d.summary.status === 'done' ? 0 : d.summary.status === 'cancelled' ? 130 : 1
  })

program
  .command('eval')
  .description(
    "a run's evaluation on its test split: accuracy, per-class accuracy and confusion matrix, or COCO box and mask AP",
  )
  .argument('<project-dir>')
  .requiredOption('--run <id>', 'run id', int)
  .option('--json', 'print JSON')
  .action(async (dir: string, o: { run: number; json?: boolean }) => {
    const app = new SmallsetApp()
    openOrFail(app, dir)
    const r = await app.dispatch('runs.get', { runId: o.run })
    const classes = await app.dispatch('classes.list', {})
    app.close()
    if (!r.ok) fail(r.error.message)
    const d = r.value as RunDetail
    const names = new Map(((classes.ok ? classes.value : []) as ClassLabel[]).map((c) => [c.id, c.name]))
    const det = d.detection
    if (det) {
      const flat = (prefix: string, s: CocoStats | null) =>
        s ? Object.fromEntries(Object.entries(s).map(([k, v]) => [`${prefix}_${k}`, v])) : {}
      if (o.json) {
        process.stdout.write(
          JSON.stringify({
            run: o.run,
            status: d.summary.status,
            task: d.summary.task,
            ...(d.summary.testMetrics ?? {}),
            ...flat('box', det.box),
            ...flat('mask', det.mask),
            evaluation: det,
          }) + '\n',
        )
        return
      }
      const row = (label: string, s: CocoStats) =>
        `  ${label.padEnd(5)} AP ${s.ap.toFixed(3)}  AP50 ${s.ap50.toFixed(3)}  AP75 ${s.ap75.toFixed(3)}  ` +
        `small ${s.apSmall.toFixed(3)}  medium ${s.apMedium.toFixed(3)}  large ${s.apLarge.toFixed(3)}  AR100 ${s.ar100.toFixed(3)}\n`
      process.stdout.write(
        `run ${o.run} (${d.summary.task}): COCO evaluation on ${det.images} ${det.split} images, ${det.instances} objects\n`,
      )
      process.stdout.write(row('box', det.box))
      if (det.mask) process.stdout.write(row('mask', det.mask))
      for (const c of det.perClass)
        process.stdout.write(
          `  ${printable(names.get(c.classId) ?? `class ${c.classId}`).padEnd(14)} ${String(c.instances).padStart(4)} objects  box AP50 ${c.boxAp50.toFixed(3)}` +
            (c.maskAp50 !== null ? `  mask AP50 ${c.maskAp50.toFixed(3)}` : '') +
            '\n',
        )
      return
    }
    if (!d.evaluation) fail(`run ${o.run} has no evaluation (it is ${d.summary.status}); resume it to finish`)
    const ev = d.evaluation
    if (o.json) {
      process.stdout.write(
        JSON.stringify({ run: o.run, status: d.summary.status, ...ev, test_accuracy: ev.accuracy }) + '\n',
      )
      return
    }
    process.stdout.write(
      `run ${o.run}: test accuracy ${(100 * ev.accuracy).toFixed(2)}% on ${ev.samples} images\n`,
    )
    for (const p of ev.perClass)
      process.stdout.write(`  class ${p.classId}: ${(100 * p.accuracy).toFixed(1)}% of ${p.count}\n`)
  })

program
  .command('predict')
  .description("a trained run's predictions for image files: the top-3 classes, or the detections")
  .argument('<project-dir>')
  .argument('<files...>')
  .requiredOption('--run <id>', 'run id', int)
  .option('--json', 'one JSON line per file')
  .action(async (dir: string, files: string[], o: { run: number; json?: boolean }) => {
    const app = new SmallsetApp()
    openOrFail(app, dir)
    try {
      const classes = await app.dispatch('classes.list', {})
      const names = new Map(((classes.ok ? classes.value : []) as ClassLabel[]).map((c) => [c.id, c.name]))
      const name = (id: number) => names.get(id) ?? `class ${id}`
      for (let i = 0; i < files.length; i += 500) {
        const r = await app.dispatch('models.predict', { runId: o.run, paths: files.slice(i, i + 500) })
        if (!r.ok) fail(r.error.message)
        for (const p of r.value as Res<'models.predict'>) {
          const size = p.size
          const detections = p.detections?.map((d) => ({
            class: name(d.classId),
            class_id: d.classId,
            score: d.score,
            // In the file's own pixels, as COCO writes boxes.
            bbox: size
              ? [d.box.x * size.width, d.box.y * size.height, d.box.w * size.width, d.box.h * size.height]
              : null,
            ...(d.mask && { segmentation: d.mask }),
          }))
          const top3 = p.top3?.map((g) => ({ class: name(g.classId), class_id: g.classId, score: g.score }))
          if (o.json) {
            process.stdout.write(
              JSON.stringify({
                path: p.path,
                ...(size && { size }),
                ...(top3 && { top3 }),
                ...(detections && { detections }),
                ...(p.error && { error: p.error }),
              }) + '\n',
            )
          } else if (p.error) process.stdout.write(`${printable(p.path)}: ${printable(p.error)}\n`)
          else if (top3)
            process.stdout.write(
              `${printable(p.path)}: ${top3.map((g) => `${printable(g.class)} ${(100 * g.score).toFixed(1)}%`).join(', ')}\n`,
            )
          else {
            process.stdout.write(`${printable(p.path)}: ${detections!.length} detections\n`)
            for (const d of detections!.filter((x) => x.score >= 0.3))
              process.stdout.write(
                `  ${printable(d.class)} ${d.score.toFixed(3)} at [${d.bbox!.map((v) => v.toFixed(1)).join(', ')}]\n`,
              )
          }
        }
      }
    } finally {
      app.close()
    }
  })

program
  .command('dev-bench-detector', { hidden: true })
  .description(
    "benchmark: time the default detection recipe's training step and write its batches for the PyTorch twin",
  )
  .argument('<project-dir>')
  .option('--steps <n>', 'batches to make and train on', int, 20)
  .option('--warmup <n>', 'steps left out of the timing', int, 5)
  .option('--out <dir>', 'write the batches here')
  .addOption(
    new Option('--task <task>', 'detect or segment').choices(['detect', 'segment']).default('segment'),
  )
  .addOption(new Option('--backend <name>', 'force a backend').choices([...BACKENDS]))
  .action(
    async (
      dir: string,
      o: { steps: number; warmup: number; out?: string; task: 'detect' | 'segment'; backend?: Backend },
    ) => {
      const app = new SmallsetApp()
      openOrFail(app, dir)
      try {
        const [{ benchDetector }, { selectBackend }, { probeNative }] = await Promise.all([
          import('./train/tasks/detect/bench.node'),
          import('./train/backends/select'),
          import('./train/host/native'),
        ])
        const backend = await selectBackend(probeNative(), o.backend)
        const r = await benchDetector(app.requireDb(), dir, { ...o, out: o.out ?? null })
        process.stdout.write(JSON.stringify({ ...r, backend_detail: backend.tried.at(-1)?.detail }) + '\n')
      } catch (e) {
        fail(e instanceof Error ? e.message : String(e))
      } finally {
        app.close()
      }
      // Dawn for Node (WebGPU) keeps the process alive on its own.
      process.exitCode = 0
      setTimeout(() => process.exit(), 50).unref()
    },
  )

program
  .command('dev-bench-step', { hidden: true })
  .description("benchmark: time a seed recipe's training step on one backend (seeded random images)")
  .addOption(
    new Option('--model <preset>', 'the recipe')
      .choices(['seed-cnn', 'seed-cats-dogs', 'seed-mlp'])
      .default('seed-cnn'),
  )
  .option('--steps <n>', 'steps to time', int, 20)
  .option('--warmup <n>', 'steps left out of the timing', int, 3)
  .addOption(new Option('--backend <name>', 'force a backend').choices([...BACKENDS]))
  .action(
    async (o: {
      model: 'seed-cnn' | 'seed-cats-dogs' | 'seed-mlp'
      steps: number
      warmup: number
      backend?: Backend
    }) => {
      try {
        const [{ benchStep }, { selectBackend }, { probeNative }] = await Promise.all([
          import('./train/tasks/classify/bench.node'),
          import('./train/backends/select'),
          import('./train/host/native'),
        ])
        const backend = await selectBackend(probeNative(), o.backend)
        const r = await benchStep(o)
        process.stdout.write(JSON.stringify({ ...r, backend_detail: backend.tried.at(-1)?.detail }) + '\n')
      } catch (e) {
        fail(e instanceof Error ? e.message : String(e))
      }
      // Dawn for Node (WebGPU) keeps the process alive on its own.
      setTimeout(() => process.exit(), 50).unref()
    },
  )

program
  .command('demo')
  .description(
    'make (or open) a demo project: 300 Fashion-MNIST images (classification), or 110 scenes of Fashion-MNIST items with masks (detection)',
  )
  .argument('[project-dir]', 'where to make it (default: ~/.smallset/demo-project or detection-demo)')
  .addOption(new Option('--kind <kind>', 'which demo').choices(DEMO_KINDS).default('classification'))
  .action(async (dir: string | undefined, o: { kind: DemoKind }) => {
    const app = new SmallsetApp()
    try {
      await openDemoProject(app, dir ?? defaultDemoDir(o.kind), resourcesDir(), o.kind)
      process.stdout.write(`Demo project ready in ${printable(app.projectDir ?? '')}\n`)
    } catch (e) {
      fail((e as Error).message)
    } finally {
      app.close()
    }
  })

program
  .command('scenes')
  .description(
    'write a detection scene set (Fashion-MNIST items on textured backgrounds) in the COCO train/valid/test layout',
  )
  .argument('<out-dir>')
  .addOption(
    new Option(
      '--preset <name>',
      'the set: default (the detection demo), tiny (for tests), photo-pair (one item per 180×180 image, Sandal or Sneaker)',
    )
      .choices(Object.keys(SCENE_PRESETS))
      .default('default'),
  )
  .option('--counts <train,valid,test>', "images per split (default: the preset's)", (v) => {
    const n = v.split(',').map((x) => int(x))
    if (n.length !== 3) throw new InvalidArgumentError('give three counts: train,valid,test')
    return { train: n[0]!, valid: n[1]!, test: n[2]! }
  })
  .option('--seed <n>', 'seed', int)
  .option('--json', 'print the summary as JSON')
  .action(
    async (
      out: string,
      o: {
        preset: keyof typeof SCENE_PRESETS
        counts?: Record<SceneSplit, number>
        seed?: number
        json?: boolean
      },
    ) => {
      try {
        const summary = await writeCocoSceneSet(out, {
          preset: o.preset,
          ...(o.counts && { counts: o.counts }),
          ...(o.seed !== undefined && { seed: o.seed }),
        })
        process.stdout.write(
          o.json ? JSON.stringify(summary) + '\n' : `Wrote the scene set to ${printable(out)}\n`,
        )
      } catch (e) {
        fail((e as Error).message)
      }
    },
  )

program
  .command('prelabel')
  .description(
    'pre-label images with a detection run: its detections are stored for the editor to accept (default: every unlabeled image)',
  )
  .argument('<project-dir>')
  .requiredOption('--run <id>', 'run id', int)
  .option('--images <ids>', 'comma-separated image ids instead of the unlabeled ones', (v) =>
    v.split(',').map((x) => int(x)),
  )
  .option('--json', 'a JSON summary')
  .action(async (dir: string, o: { run: number; images?: number[]; json?: boolean }) => {
    const app = new SmallsetApp()
    openOrFail(app, dir)
    try {
      const finished = new Promise<EventPayload<'prelabel.finished'>>((resolve) => {
        const off = app.onEvent((event, payload) => {
          if (event === 'prelabel.progress' && !o.json) {
            const p = payload as EventPayload<'prelabel.progress'>
            process.stderr.write(`\rpre-labelled ${p.done} / ${p.total}`)
          }
          if (event === 'prelabel.finished') {
            off()
            resolve(payload as EventPayload<'prelabel.finished'>)
          }
        })
      })
      const t0 = performance.now()
      const r = await app.dispatch('prelabel.start', {
        runId: o.run,
        ...(o.images && { imageIds: o.images }),
      })
      if (!r.ok) fail(r.error.message)
      const end = await finished
      const seconds = (performance.now() - t0) / 1000
      if (end.error) fail(end.error)
      if (o.json)
        process.stdout.write(
          JSON.stringify({ run: o.run, done: end.done, total: end.total, failed: end.failed, seconds }) +
            '\n',
        )
      else
        process.stdout.write(
          `\npre-labelled ${end.done - end.failed.length} of ${end.total} image(s) in ${seconds.toFixed(1)} s` +
            end.failed.map((f) => `\n  image ${f.imageId}: ${printable(f.error)}`).join('') +
            '\n',
        )
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
  .addOption(
    new Option('--demo <kind>', 'the demo to open when no project is given')
      .choices(DEMO_KINDS)
      .default('classification'),
  )
  .action(async (dir: string | undefined, o: { port?: number; project: boolean; demo: DemoKind }) => {
    const app = new SmallsetApp()
    try {
      if (dir) app.openProject(dir)
      else if (o.project) await openDemoProject(app, defaultDemoDir(o.demo), resourcesDir(), o.demo)
    } catch (e) {
      fail((e as Error).message)
    }
    const host = await startWebHost({
      app,
      rendererDir: rendererDir(),
      port: o.port,
      token: process.env.SMALLSET_TOKEN,
    })
    process.stdout.write(
      `Smallset is serving ${app.projectDir ? printable(app.projectDir) : 'no project'}\nOpen ${host.launchUrl}\n`,
    )
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
