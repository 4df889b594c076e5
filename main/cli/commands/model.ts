import { stat } from 'node:fs/promises';
import { InputError } from '../../api/errors.js';
import { importCheckpoint, readManifest } from '../../engine/index.js';
import { flag, hasFlag, parseArgs } from '../args.js';
import type { CliCommand } from '../command.js';

export const modelCommand: CliCommand = {
  name: 'model',
  summary: 'import a Neuroverse3D checkpoint as a model package, or describe a package',
  usage: `usage: neuroverse model import <checkpoint.ckpt|.safetensors> --out <dir> [--name NAME] [--grid N] [--json]
       neuroverse model info <dir> [--json]

  import   read a PyTorch Lightning checkpoint (torch.save zip) or safetensors without Python, build the three
           ONNX graphs and write manifest.json (sha256 of each graph) into <dir>
  info     show a package's manifest (architecture, grid, normalisation, tasks, graphs, provenance)`,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'import') return importModel(rest, io);
    if (sub === 'info') return info(rest, io);
    throw new InputError(undefined, `unknown model sub-command "${sub ?? ''}" (import or info)`, 'usage');
  },
};

async function importModel(argv: string[], io: Parameters<CliCommand['run']>[1]): Promise<number> {
  const args = parseArgs(argv, { value: ['out', 'name', 'grid'], boolean: ['json'] });
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
  const existing = await stat(out).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw new InputError(out, 'exists and is not a folder');
  const { manifest, notes } = await importCheckpoint(file, out, { name: flag(args, 'name'), grid });
  if (hasFlag(args, 'json')) {
    io.out(JSON.stringify({ out, manifest }));
  } else {
    io.out(`wrote ${out}: ${manifest.name}, channels ${manifest.architecture.channels.join('-')}, ${manifest.provenance.parameters.toLocaleString('en-US')} parameters, grid ${manifest.grid.join('×')}`);
    for (const n of notes) io.out(`note: ${n}`);
  }
  return 0;
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
  io.out(`grid ${m.grid.join('×')}, normalisation ${m.normalization.method} ${m.normalization.lower}/${m.normalization.upper}, tasks ${m.tasks.join(', ')}, threshold ${m.threshold}, opset ${m.opset}`);
  for (const [role, g] of Object.entries(m.graphs)) io.out(`  ${role.padEnd(14)} ${g.file} ${(g.bytes / 1e6).toFixed(1)} MB sha256 ${g.sha256}`);
  io.out(`from ${m.provenance.source} (${m.provenance.sourceFormat}, sha256 ${m.provenance.sourceSha256.slice(0, 16)}…) imported ${m.provenance.importedAt}`);
  io.out(`evaluation: ${m.evaluation ? JSON.stringify(m.evaluation) : 'none yet'}`);
  return 0;
}
