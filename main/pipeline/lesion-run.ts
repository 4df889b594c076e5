import { InputError } from '../common/errors.js';
import type { ComputePool } from '../compute/pool.js';
import type { LesionJobs } from '../lesion/lesion-job.js';
import { lesionStats, type LesionStats } from '../export/lesion-stats.js';
import type { CleanupRule } from '../lesion/cleanup.js';
import { lesionPool, runLesionsInWorker } from '../lesion/lesion-pool.js';
import type { LesionMethod, LesionRunResult } from '../lesion/segment-lesions.js';
import { spatialDims } from '../imaging/volume.js';
import type { Volume } from '../imaging/volume.js';
import type { PairFiles } from '../registration/types.js';

/** A context pair of a lesion task: `imageFile` is its first channel (FLAIR), `channelFiles` the others, in order. */
export type LesionPairFiles = PairFiles & { channelFiles?: string[] };

/** What a lesion run adds to its structure's result: how the mask was made and what it holds. */
export interface LesionDetails {
  /** A method fitted on the examples at run time, or the in-context model (one trained for lesions). */
  method: LesionMethod | 'model';
  /** The cleanup learned from the examples; null for the model (its output above the manifest's threshold, as it stands). */
  rule: CleanupRule | null;
  /** Mean Dice of the rule on the examples (classifier: each held out of its own fit; threshold: fitted on them); null for the model. */
  exampleDice: number | null;
  stats: LesionStats;
  seconds: LesionRunResult['seconds'];
}

/**
 * A model's lesion mask described as the other lesion methods' are. Its phases map onto theirs: preparing the target
 * and pairs is the read, the target encoder the features, encoding the context the fit, the decoder the prediction.
 */
export function modelLesionDetails(
  volume: Volume,
  seconds: { preprocess: number; targetEncoder: number; context: number; decoder: number; postprocess: number },
): LesionDetails {
  const s = {
    read: seconds.preprocess,
    features: seconds.targetEncoder,
    fit: seconds.context,
    validate: 0,
    predict: seconds.decoder + seconds.postprocess,
    total: 0,
  };
  s.total = s.read + s.features + s.fit + s.predict;
  return { method: 'model', rule: null, exampleDice: null, stats: lesionStats(volume), seconds: s };
}

export interface LesionPipelineInput {
  method: LesionMethod;
  target: Volume;
  targetFile?: string;
  /** The target's further channels (T1c, T1…), files on its grid, in the order of the pairs' channelFiles. */
  targetChannels?: string[];
  pairs: LesionPairFiles[];
  labels?: number[];
  /** A pool of lesion workers (lesion-pool.ts); one is started for this run (and closed) when absent. */
  pool?: ComputePool<LesionJobs>;
  signal?: AbortSignal;
  onProgress?: (fraction: number | null, message: string) => void;
}

/**
 * A lesion run: no registration (a lesion is not where the examples' lesions are), the method fitted on the
 * examples' voxels in a compute worker, none of the anatomy QC rules (an empty mask is a valid answer), and the
 * lesion count and volumes of the result.
 */
export async function runLesionPipeline(input: LesionPipelineInput): Promise<{ volume: Volume; details: LesionDetails }> {
  const channels = 1 + (input.targetChannels?.length ?? 0);
  for (const p of input.pairs) {
    const has = 1 + (p.channelFiles?.length ?? 0);
    if (has !== channels)
      throw new InputError(
        p.imageFile,
        `this example has ${has} channel(s) and the target ${channels}: give every pair the target's channels, in its order`,
        'usage',
      );
  }
  const pool = input.pool ?? lesionPool();
  try {
    const r = await runLesionsInWorker(
      pool,
      {
        method: input.method,
        target: { images: [input.targetFile ?? 'the target', ...(input.targetChannels ?? [])], first: input.target },
        examples: input.pairs.map((p) => ({ images: [p.imageFile, ...(p.channelFiles ?? [])], label: p.labelFile, labels: input.labels })),
      },
      { signal: input.signal, onProgress: input.onProgress },
    );
    const volume: Volume = {
      dims: spatialDims(input.target),
      spacing: input.target.spacing.slice(0, 3),
      affine: input.target.affine.map((row) => [...row]),
      data: r.mask,
      slope: 1,
      intercept: 0,
      description: `lesions by ${input.method} (${input.pairs.length} examples)`,
      source: { kind: 'memory' },
    };
    const details: LesionDetails = { method: input.method, rule: r.rule, exampleDice: r.exampleDice, stats: lesionStats(volume), seconds: r.seconds };
    return { volume, details };
  } finally {
    if (!input.pool) await pool.close();
  }
}
