import { basename } from 'node:path';
import { readCheckpoint } from '../checkpoint/read-checkpoint.js';
import type { AlignedFrameRule, GridFitRule, Manifest, Precision } from './manifest.js';
import type { Task } from '../../common/task.js';
import { writeModelPackage } from './write-package.js';

export interface ImportOptions {
  name?: string;
  grid?: [number, number, number];
  tasks?: Task[];
  fit?: GridFitRule;
  orientation?: string;
  alignment?: Manifest['alignment'];
  alignedFrame?: AlignedFrameRule;
  /** Evaluation card measured by the training side (native-models/neuroverse3d/card.py). */
  evaluation?: Record<string, unknown> | null;
  /** 'int8': also write an int8 CPU variant (calibrated on the app's sample). */
  precision?: Precision;
}

/** `neuroverse model import`: checkpoint (torch zip or safetensors) → model package folder. */
export async function importCheckpoint(file: string, outDir: string, opts: ImportOptions = {}): Promise<{ manifest: Manifest; notes: string[] }> {
  const ck = await readCheckpoint(file);
  const manifest = await writeModelPackage(outDir, ck.architecture, ck.stateDict, {
    name: opts.name ?? basename(file).replace(/\.(ckpt|pt|pth|safetensors)$/i, ''),
    grid: opts.grid,
    tasks: opts.tasks,
    fit: opts.fit,
    orientation: opts.orientation,
    alignment: opts.alignment,
    alignedFrame: opts.alignedFrame,
    evaluation: opts.evaluation ?? null,
    precision: opts.precision,
    provenance: {
      source: basename(file),
      sourceFormat: ck.format,
      sourceSha256: ck.sha256,
      hyperParameters: ck.hyperParameters,
      notes: ck.notes.join('; ') || undefined,
    },
  });
  return { manifest, notes: ck.notes };
}
