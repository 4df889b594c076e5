import { performance } from 'node:perf_hooks';
import { CancelledError } from '../common/errors.js';
import type { IcvEstimate } from '../export/volumetry/types.js';
import type { Volume } from '../imaging/volume.js';
import { estimateIcv, icvWarnings, type IcvAtlasSet } from '../pipeline/icv.js';
import type { AlignMode } from '../registration/types.js';
import { sha256File } from '../util/hash.js';
import type { RunServices } from './orchestrate-run.js';

export interface ScanIcv {
  /** Null where no atlas was given or the estimate failed (the warning says why). */
  icv: IcvEstimate | null;
  warnings: string[];
  seconds: number;
}

/**
 * A scan's intracranial volume for its volumetry (% ICV, the norms), as the batch, the app's worklist and its
 * report estimate it: the atlas heads registered affinely to the scan through the run's registration workers
 * and cache (a run on the starter set has already registered those of its heads it chose), their masks voted.
 * A failed estimate is a warning, not the scan's failure: its volumes stand without % ICV.
 */
export async function scanIcv(
  target: Volume,
  set: IcvAtlasSet,
  services: Pick<RunServices, 'pool' | 'cache' | 'signal'>,
  align: Exclude<AlignMode, 'none'> = 'affine',
  preferImages: readonly string[] = [],
): Promise<ScanIcv> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  if (set.atlases.length === 0) return { icv: null, warnings: [], seconds: 0 };
  try {
    const atlases = await pickAtlases(set, preferImages);
    const r = await estimateIcv({ ...set, atlases, pool: services.pool(), cache: services.cache, target, align, signal: services.signal });
    const icv: IcvEstimate = { volumeMl: r.volumeMl, method: r.method, perAtlasMl: r.perAtlasMl };
    return { icv, warnings: icvWarnings(icv), seconds: seconds() };
  } catch (err) {
    if (err instanceof CancelledError || services.signal?.aborted) throw err;
    const why = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    return { icv: null, warnings: [`the intracranial volume was not estimated (${why}): no % ICV and no percentile`], seconds: seconds() };
  }
}

/**
 * The set's first `use` atlases, those whose image is among `preferImages` (SHA-256 of the images a run registered
 * to this scan, e.g. the starter heads its context choice took) first: their registrations are in the cache already.
 */
async function pickAtlases(set: IcvAtlasSet, preferImages: readonly string[]): Promise<IcvAtlasSet['atlases']> {
  const use = Math.min(set.use ?? set.atlases.length, set.atlases.length);
  if (use === set.atlases.length) return set.atlases;
  if (preferImages.length === 0) return set.atlases.slice(0, use);
  const prefer = new Set(preferImages);
  const known = await Promise.all(set.atlases.map(async (a) => prefer.has(await sha256File(a.imageFile))));
  const order = set.atlases.map((a, k) => ({ a, k })).sort((x, y) => Number(known[y.k]) - Number(known[x.k]) || x.k - y.k);
  return order.slice(0, use).map((x) => x.a);
}
