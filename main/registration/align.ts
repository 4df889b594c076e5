import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CancelledError } from '../common/errors.js';
import type { ComputePool } from '../compute/pool.js';
import type { Volume } from '../imaging/volume.js';
import { spatialDims } from '../imaging/volume.js';
import { unionBox } from '../imaging/voxel-box.js';
import type { VoxelBox } from '../imaging/voxel-box.js';
import type { RegistrationCache } from './cache.js';
import { sha256File } from '../util/hash.js';
import { ELASTIX_PACKAGE, parameterKey } from './parameters.js';
import type { AlignedPair, AlignMode, LabelKind, PairFiles } from './types.js';
import type { RegisterJob, RegistrationJobs, TransformJob } from './registration-jobs.js';

export interface AlignOptions {
  pool: ComputePool<RegistrationJobs>;
  cache: RegistrationCache;
  target: Volume;
  mode: AlignMode;
  kind: LabelKind;
  pairs: PairFiles[];
  /** Resample the images too (the model needs them; atlas vote does not). */
  needImages: boolean;
  /**
   * Align through this reference image instead of pair → target: each pair is registered to the reference
   * once (cached, as a library would do when the pair is added), the target once per run, and each pair is
   * resampled through both transforms.
   */
  reference?: string;
  signal?: AbortSignal;
  /** After each pair: how many are done (cache hits count at once), and what that pair cost. */
  onProgress?: (done: number, total: number, pair: { cached: boolean; seconds: number }) => void;
}

export interface AlignedSet {
  mode: AlignMode;
  pairs: AlignedPair[];
  /** Union of the warped labels' boxes on the target grid: where the anatomy of interest lies. */
  labelBox: VoxelBox | null;
  /** Wall-clock seconds of the whole alignment (registrations run in parallel). */
  seconds: number;
  /** Pairs registered in this call; `cached` = the others (their transform was stored). */
  registered: number;
  cached: number;
  /** Registrations to the reference made in this call (target and pairs); 0 without a reference. */
  referenceRegistered: number;
}

/**
 * Brings every context pair onto the target's voxel grid (see register-pair.ts), the registrations in
 * the compute pool's workers, results from and into the cache. A failed pair fails the whole call with
 * its own error (naming its file); the other pairs' jobs are cancelled.
 */
export async function alignPairs(o: AlignOptions): Promise<AlignedSet> {
  const t0 = performance.now();
  const targetHash = volumeHash(o.target);
  const settings = parameterKey(o.mode, ELASTIX_PACKAGE);
  const inner = new AbortController();
  const stop = () => inner.abort();
  o.signal?.addEventListener('abort', stop, { once: true });
  if (o.signal?.aborted) throw new CancelledError('alignment');
  const total = o.pairs.length;
  let done = 0;
  let registered = 0;
  let referenceRegistered = 0;
  const target = {
    dims: spatialDims(o.target),
    spacing: o.target.spacing.slice(0, 3),
    affine: o.target.affine,
    data: o.target.data,
    slope: o.target.slope,
    intercept: o.target.intercept,
  };
  const refHash = o.reference && o.mode !== 'none' ? await sha256File(o.reference) : null;
  /** A registration to or from the reference, cached as its transform alone. */
  const transformTo = async (what: string, fixed: TransformJob['fixed'], moving: TransformJob['moving'], hashes: Record<string, string>): Promise<string> => {
    const key = cacheKey({ settings, what, ...hashes });
    const hit = await o.cache.get(key);
    if (hit) return join(hit.dir, 'transform.json');
    const outDir = await o.cache.reserve();
    try {
      const job: TransformJob = { mode: o.mode as TransformJob['mode'], fixed, moving, outFile: join(outDir, 'transform.json') };
      const r = await o.pool.run('transform', job, { signal: inner.signal });
      referenceRegistered++;
      const entry = await o.cache.commit(outDir, key, { labelBox: null, image: false, seconds: { register: r.seconds, warp: 0 } });
      return join(entry.dir, 'transform.json');
    } catch (err) {
      await o.cache.discard(outDir);
      throw err;
    }
  };
  let targetToReference: Promise<string> | null = null;
  const viaReference = async (p: PairFiles): Promise<string[]> => {
    // Target points → reference points (once per target), then reference points → pair points.
    targetToReference ??= transformTo('target-to-reference', { volume: target }, { file: o.reference! }, { target: targetHash, reference: refHash! });
    const pairPart = transformTo(
      'reference-to-pair',
      { file: o.reference! },
      { file: p.imageFile },
      { reference: refHash!, image: await sha256File(p.imageFile) },
    );
    return [await targetToReference, await pairPart];
  };
  const one = async (p: PairFiles): Promise<AlignedPair> => {
    const key = cacheKey({
      settings,
      kind: o.kind,
      target: targetHash,
      image: await sha256File(p.imageFile),
      label: await sha256File(p.labelFile),
      reference: refHash,
    });
    const hit = await o.cache.get(key);
    if (hit && (hit.result.image || !o.needImages)) {
      o.onProgress?.(++done, total, { cached: true, seconds: 0 });
      return { imageFile: hit.imageFile, labelFile: hit.labelFile, source: p, labelBox: hit.result.labelBox, cached: true, seconds: 0 };
    }
    const outDir = await o.cache.reserve();
    try {
      // A hit without its image (an earlier vote run) reuses the stored transform: resampling only.
      const transformFiles = hit ? [join(hit.dir, 'transform.json')] : refHash ? await viaReference(p) : undefined;
      const job: RegisterJob = {
        mode: o.mode,
        kind: o.kind,
        target,
        image: { file: p.imageFile },
        label: { file: p.labelFile },
        outDir,
        warpImage: o.needImages,
        transformFiles,
      };
      const result = await o.pool.run('register', job, { signal: inner.signal });
      const entry = hit ? await o.cache.addImage(key, outDir, result) : await o.cache.commit(outDir, key, result);
      if (!entry) throw new Error(`registration cache entry ${key} vanished while it was being completed`);
      // Resampling the image with a stored transform is not a registration.
      if (!hit) registered++;
      o.onProgress?.(++done, total, { cached: false, seconds: result.seconds.register });
      return {
        imageFile: entry.imageFile,
        labelFile: entry.labelFile,
        source: p,
        labelBox: result.labelBox,
        cached: false,
        seconds: result.seconds.register + result.seconds.warp,
      };
    } catch (err) {
      await o.cache.discard(outDir);
      throw err;
    }
  };
  try {
    const pairs = await Promise.all(
      o.pairs.map((p) =>
        one(p).catch((err) => {
          inner.abort();
          throw err;
        }),
      ),
    );
    if (o.signal?.aborted) throw new CancelledError('alignment');
    return {
      mode: o.mode,
      pairs,
      labelBox: unionBox(pairs.map((p) => p.labelBox)),
      seconds: (performance.now() - t0) / 1000,
      registered,
      cached: total - registered,
      referenceRegistered,
    };
  } catch (err) {
    if (o.signal?.aborted) throw new CancelledError('alignment');
    throw err;
  } finally {
    o.signal?.removeEventListener('abort', stop);
  }
}

function cacheKey(parts: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 40);
}

/** Content hash of an in-memory volume: voxels and geometry (the target often has no file). */
export function volumeHash(v: Volume): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ dims: v.dims, affine: v.affine, slope: v.slope, intercept: v.intercept, type: v.data.constructor.name }));
  h.update(new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength));
  return h.digest('hex');
}
