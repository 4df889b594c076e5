import { mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../../common/errors.js';
import { importCheckpoint, quantizePackage, readManifest } from '../../engine/index.js';
import type { AlignedFrameRule, GridFitRule, Manifest } from '../../engine/index.js';
import type { Task } from '../../common/task.js';
import type { AlignMode } from '../../registration/types.js';
import { isOrientationCode } from '../../imaging/index.js';
import { flag, hasFlag, parseArgs } from '../args.js';
import type { CliCommand } from '../command.js';

export const modelCommand: CliCommand = {
  name: 'model',
  summary: 'import a Neuroverse3D checkpoint as a model package, or describe a package',
  usage: `usage: neuroverse model import <checkpoint.ckpt|.safetensors> --out <dir> [--name NAME] [--grid N]
                         [--tasks segment,generate] [--fit field-of-view|foreground-box[:T[:MM]]]
                         [--orientation LIA] [--alignment none|affine|deformable]
                         [--aligned-frame structure|labels[:MM]] [--precision fp32|int8] [--evaluation card.json]
                         [--force] [--json]
       neuroverse model quantize <dir> --out <new-dir> [--json]
       neuroverse model info <dir> [--json]

  import   read a PyTorch Lightning checkpoint (torch.save zip) or safetensors without Python, build the three
           ONNX graphs and write manifest.json (sha256 of each graph) into <dir> (an existing <dir> only with
           --force: the new package is built beside it and swapped in once complete); --evaluation stores the
           evaluation card made by native-models (python -m neuroverse3d.card) in the manifest; --fit and
           --orientation record how the model's training framed and oriented its volumes; --alignment and
           --aligned-frame how it expects context pairs aligned and framed (docs/model-package.md); --precision
           int8 also writes an int8 CPU variant (int8 convolution weights, uint8 activations calibrated on the
           sample shipped with the app), which runs on the CPU unless a run asks for fp32
  quantize a copy of an installed package (the bundled one too: no checkpoint needed) with an int8 CPU variant
           added, calibrated like import --precision int8; the weights are read back from the package's graphs
           and must rebuild them byte for byte; the source package is not changed
  info     show a package's manifest (architecture, grid, normalisation, tasks, graphs, provenance)`,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'import') return importModel(rest, io);
    if (sub === 'info') return info(rest, io);
    if (sub === 'quantize') return quantize(rest, io);
    throw new InputError(undefined, `unknown model sub-command "${sub ?? ''}" (import, quantize or info)`, 'usage');
  },
};

async function importModel(argv: string[], io: Parameters<CliCommand['run']>[1]): Promise<number> {
  const args = parseArgs(argv, {
    value: ['out', 'name', 'grid', 'tasks', 'evaluation', 'fit', 'orientation', 'alignment', 'aligned-frame', 'precision'],
    boolean: ['json', 'force'],
  });
  const [file] = args.positional;
  const out = flag(args, 'out');
  if (!file) throw new InputError(undefined, 'give a checkpoint file', 'usage');
  if (!out) throw new InputError(undefined, '--out is required', 'usage');
  const g = flag(args, 'grid');
  let grid: [number, number, number] | undefined;
  if (g !== undefined) {
    const n = Number(g);
    if (!Number.isInteger(n) || n <= 0) throw new InputError(undefined, `--grid must be a positive integer (got "${g}")`, 'usage');
    grid = [n, n, n];
  }
  const tasksFlag = flag(args, 'tasks');
  const tasks = tasksFlag
    ?.split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const badTask = tasks?.find((t) => t !== 'segment' && t !== 'generate');
  if (badTask !== undefined) throw new InputError(undefined, `--tasks takes segment and/or generate (got "${badTask}")`, 'usage');
  const evaluationFile = flag(args, 'evaluation');
  const evaluation = evaluationFile === undefined ? undefined : await readEvaluationCard(evaluationFile);
  const fit = parseFitFlag(flag(args, 'fit'));
  const orientation = flag(args, 'orientation')?.toUpperCase();
  if (orientation !== undefined && !isOrientationCode(orientation)) {
    throw new InputError(undefined, `--orientation takes three axis letters such as LIA or RAS (got "${orientation}")`, 'usage');
  }
  const alignment = flag(args, 'alignment');
  if (alignment !== undefined && !['none', 'affine', 'deformable'].includes(alignment)) {
    throw new InputError(undefined, `--alignment takes none, affine or deformable (got "${alignment}")`, 'usage');
  }
  const alignedFrame = parseAlignedFrameFlag(flag(args, 'aligned-frame'));
  const precision = flag(args, 'precision') ?? 'fp32';
  if (precision !== 'fp32' && precision !== 'int8') throw new InputError(undefined, `--precision takes fp32 or int8 (got "${precision}")`, 'usage');
  const existing = await stat(out).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw new InputError(out, 'exists and is not a folder');
  if (existing && !hasFlag(args, 'force'))
    throw new InputError(out, 'exists: give --force to replace it (the old package is kept until the new one is complete)', 'usage');
  // Built beside the destination and moved in whole, so a failed import leaves what was there untouched.
  const parent = dirname(resolve(out));
  await mkdir(parent, { recursive: true });
  const work = await mkdtemp(join(parent, `.${basename(out)}.import-`));
  let manifest: Manifest;
  let notes: string[];
  try {
    ({ manifest, notes } = await importCheckpoint(file, join(work, 'package'), {
      name: flag(args, 'name'),
      grid,
      tasks: tasks as Task[] | undefined,
      evaluation,
      fit,
      orientation,
      alignment: alignment as AlignMode | undefined,
      alignedFrame,
      precision,
    }));
    if (existing) await rename(out, join(work, 'old'));
    await rename(join(work, 'package'), out);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  if (hasFlag(args, 'json')) {
    io.out(JSON.stringify({ out, manifest }));
  } else {
    io.out(
      `wrote ${out}: ${manifest.name}, channels ${manifest.architecture.channels.join('-')}, ${manifest.provenance.parameters.toLocaleString('en-US')} parameters, grid ${manifest.grid.join('×')}`,
    );
    for (const n of notes) io.out(`note: ${n}`);
  }
  return 0;
}

async function quantize(argv: string[], io: Parameters<CliCommand['run']>[1]): Promise<number> {
  const args = parseArgs(argv, { value: ['out'], boolean: ['json'] });
  const [dir] = args.positional;
  const out = flag(args, 'out');
  if (!dir) throw new InputError(undefined, 'give a model package folder', 'usage');
  if (!out) throw new InputError(undefined, '--out is required', 'usage');
  const manifest = await quantizePackage(dir, out);
  if (hasFlag(args, 'json')) io.out(JSON.stringify({ out, manifest }));
  else io.out(`wrote ${out}: ${manifest.name} with an int8 CPU variant (calibrated on ${manifest.int8!.calibration.data.join(', ')})`);
  return 0;
}

/**
 * --fit field-of-view | foreground-box[:THRESHOLD[:MARGIN_MM]], defaults 0.1 and 5 mm: training frames the brain's
 * label box plus 10 mm, and a head's foreground box (scalp and skull included) already reaches most of that.
 */
function parseFitFlag(text: string | undefined): GridFitRule | undefined {
  if (text === undefined) return undefined;
  if (text === 'field-of-view') return { method: 'field-of-view' };
  const m = /^foreground-box(?::([0-9.]+))?(?::([0-9.]+))?$/.exec(text);
  const threshold = Number(m?.[1] ?? 0.1);
  const marginMm = Number(m?.[2] ?? 5);
  if (!m || !(threshold > 0 && threshold < 1) || !(marginMm >= 0)) {
    throw new InputError(undefined, `--fit takes field-of-view or foreground-box[:THRESHOLD[:MARGIN_MM]] with 0 < THRESHOLD < 1 (got "${text}")`, 'usage');
  }
  return { method: 'foreground-box', threshold, marginMm };
}

/** The card is shown in the app as measured; it must be one JSON object with a one-line summary. */
async function readEvaluationCard(file: string): Promise<Record<string, unknown>> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new InputError(file, err.code === 'ENOENT' ? 'evaluation card not found' : `cannot read the evaluation card (${err.message})`);
  });
  let card: unknown;
  try {
    card = JSON.parse(text);
  } catch (err) {
    throw new InputError(file, `evaluation card is not valid JSON (${(err as Error).message})`);
  }
  if (typeof card !== 'object' || card === null || Array.isArray(card)) throw new InputError(file, 'evaluation card must be a JSON object');
  if (typeof (card as { summary?: unknown }).summary !== 'string') throw new InputError(file, 'evaluation card needs a "summary" string');
  return card as Record<string, unknown>;
}

async function info(argv: string[], io: Parameters<CliCommand['run']>[1]): Promise<number> {
  const args = parseArgs(argv, { boolean: ['json'] });
  const [dir] = args.positional;
  if (!dir) throw new InputError(undefined, 'give a model folder', 'usage');
  const m = await readManifest(dir);
  if (hasFlag(args, 'json')) {
    io.out(JSON.stringify(m, null, 2));
    return 0;
  }
  io.out(`${m.name}: ${m.architecture.name}, channels ${m.architecture.channels.join('-')}, ${m.provenance.parameters.toLocaleString('en-US')} parameters`);
  io.out(
    `grid ${m.grid.join('×')}, normalisation ${m.normalization.method} ${m.normalization.lower}/${m.normalization.upper}, tasks ${m.tasks.join(', ')}, threshold ${m.threshold}, opset ${m.opset}`,
  );
  for (const [role, g] of Object.entries(m.graphs)) io.out(`  ${role.padEnd(14)} ${g.file} ${(g.bytes / 1e6).toFixed(1)} MB sha256 ${g.sha256}`);
  io.out(`from ${m.provenance.source} (${m.provenance.sourceFormat}, sha256 ${m.provenance.sourceSha256.slice(0, 16)}…) imported ${m.provenance.importedAt}`);
  const summary = m.evaluation?.summary;
  io.out(`evaluation: ${m.evaluation ? (typeof summary === 'string' ? summary : JSON.stringify(m.evaluation)) : 'none yet'} (full card: --json)`);
  return 0;
}

/** --aligned-frame structure | labels [:MARGIN_MM], margin 10 mm by default (BRAIN_MARGIN_MM). */
function parseAlignedFrameFlag(text: string | undefined): AlignedFrameRule | undefined {
  if (text === undefined) return undefined;
  const m = /^(structure|labels)(?::([0-9.]+))?$/.exec(text);
  const marginMm = Number(m?.[2] ?? 10);
  if (!m || !(marginMm >= 0)) throw new InputError(undefined, `--aligned-frame takes structure or labels, optionally :MARGIN_MM (got "${text}")`, 'usage');
  return { around: m[1] as AlignedFrameRule['around'], marginMm };
}
