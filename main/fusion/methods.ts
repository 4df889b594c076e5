import { ComputePool, defaultPoolSize } from '../compute/pool.js';
import { workerScript } from '../compute/worker-script.js';
import { realValues } from '../engine/processing/intensity.js';
import type { Volume } from '../imaging/volume.js';
import { spatialDims } from '../imaging/volume.js';
import type { VoxelBox } from '../imaging/voxel-box.js';
import { intensityTrimFor, trimByIntensity } from './intensity-trim.js';
import type { IntensityTrimParams } from './intensity-trim.js';
import { JLF_DEFAULTS, jlfMargin, jlfSyntheticParams } from './jlf.js';
import type { JlfParams } from './jlf.js';
import { forCrop } from './jlf-job.js';
import type { FusionJobs, JlfJob } from './jlf-job.js';
import { FUSION_IDS, FUSION_NAMES } from './ids.js';
import type { FusionId } from './ids.js';
import { DOUBT_SCALE } from './vote.js';
import type { VoteResult } from './vote.js';

/** A coded concept as DICOM writes it (Algorithm Family Code Sequence). */
export interface CodedConcept {
  CodeValue: string;
  CodingSchemeDesignator: string;
  CodeMeaning: string;
}

/** What every fusion method is given: the aligned pairs of one structure group and the vote of their labels. */
export interface FusionInput {
  target: Volume;
  /** Aligned pairs on the target grid (cache files); `name` is how messages name the pair. */
  pairs: { imageFile: string; labelFile: string; name: string }[];
  /**
   * One entry per structure: its label values and the majority vote of the same aligned maps (computed while
   * they are read for the checks; where all maps agree it is already the answer).
   */
  structures: { labels?: readonly number[]; vote: VoteResult }[];
  /**
   * The pairs' images were rendered from their label maps (the bundled starter set), not scanned: their edges
   * are the label maps' own and they lack the scanner's texture, so a method may fuse them with other settings.
   */
  synthetic?: boolean;
  signal?: AbortSignal;
}

export interface FusionOutput extends VoteResult {
  /** Voxels the method computed beyond the vote (0 for the vote itself). */
  computed: number;
}

export interface FusionMethod<Id extends string = string> {
  id: Id;
  /** How the Run panel and messages name it. */
  name: string;
  /** labels: the aligned label maps suffice; images: the aligned images are read too. */
  needs: 'labels' | 'images';
  /** What its probability (and so its doubt map, 1 − |2p − 1|) is. */
  probability: string;
  /** DICOM-SEG Segment Algorithm Name and the family code of its Algorithm Identification. */
  algorithm: { name: string; family: CodedConcept };
  /** One phrase for the SEG's provenance ("atlas vote of registered context labels"). */
  description: string;
  fuse(input: FusionInput): Promise<FusionOutput[]>;
}

/** CID 7162 has no family for registration-based label fusion; a private scheme ("99" prefix, PS3.16 §8.2) names it. */
export const PRIVATE_SCHEME = '99NEUROVERSE';

const vote: FusionMethod<'vote'> = {
  id: 'vote',
  name: FUSION_NAMES.vote,
  needs: 'labels',
  probability: 'the fraction of aligned label maps that put the structure at the voxel',
  algorithm: {
    name: 'Neuroverse atlas vote',
    family: { CodeValue: 'ATLAS-VOTE', CodingSchemeDesignator: PRIVATE_SCHEME, CodeMeaning: 'Atlas label fusion by majority vote' },
  },
  description: 'atlas vote of registered context labels',
  // The vote is made while the maps are read for the checks (fusion/vote.ts): nothing more to do.
  fuse: async (input) => input.structures.map((s) => ({ ...s.vote, computed: 0 })),
};

const jlf: FusionMethod<'jlf'> = {
  id: 'jlf',
  name: FUSION_NAMES.jlf,
  needs: 'images',
  probability: 'the sum of the atlases’ labels weighted by joint label fusion (local patch match and error correlation)',
  algorithm: {
    name: 'Neuroverse joint label fusion',
    family: { CodeValue: 'ATLAS-JLF', CodingSchemeDesignator: PRIVATE_SCHEME, CodeMeaning: 'Atlas label fusion by joint label fusion' },
  },
  description:
    'joint label fusion of registered context labels (Wang et al. 2013, with a local search; the hippocampus’s edge trimmed by the target’s intensity)',
  fuse: (input) => (input.synthetic ? jointFusion(input, JLF_DEFAULTS, jlfSyntheticParams) : jointFusion(input, JLF_DEFAULTS)),
};

/** Every fusion method, by id: a new method is one entry here (and its own module in this folder). */
export const FUSION_METHODS: { [K in FusionId]: FusionMethod<K> } = { vote, jlf };
export { FUSION_IDS, FUSION_NAMES };
export type { FusionId };

export function isFusionId(s: string): s is FusionId {
  return Object.prototype.hasOwnProperty.call(FUSION_METHODS, s);
}

export function fusionMethod(id: FusionId): FusionMethod {
  return FUSION_METHODS[id];
}

/** Mask (p ≥ ½) and doubt (1 − |2p − 1|, ×255) of a fused probability. */
export function doubtOf(p: number): number {
  const q = p < 0 ? 0 : p > 1 ? 1 : p;
  return Math.round(DOUBT_SCALE * (1 - Math.abs(2 * q - 1)));
}

let pool: ComputePool<FusionJobs> | null = null;
/** Fusion workers, started on first use (idle workers do not keep the process alive). */
function fusionPool(): ComputePool<FusionJobs> {
  pool ??= new ComputePool<FusionJobs>(workerScript(import.meta.url, 'worker'), Math.min(2, defaultPoolSize(0.5e9)));
  return pool;
}

/**
 * Joint label fusion of each structure in compute workers, on the crop of the atlases' union box plus what the
 * patches and the search need; outside the crop every map says "not the structure", as the vote does. A
 * structure is split in two along x where its maps disagree least (between the two hippocampi, say), so both
 * workers share it and neither crop spans the empty middle. Then the edge of the structures `trim` names is trimmed
 * by the target's intensity (intensity-trim.ts; default: the hippocampus).
 */
export async function jointFusion(
  input: FusionInput,
  params: JlfParams,
  structureParams?: (labels?: readonly number[]) => JlfParams,
  trim: (labels?: readonly number[]) => IntensityTrimParams | null = intensityTrimFor,
): Promise<FusionOutput[]> {
  const dims = spatialDims(input.target);
  const values = realValues(input.target);
  const fused = await Promise.all(
    input.structures.map(async (s) => {
      const v = s.vote;
      if (!v.box) return { ...v, computed: 0 };
      const p = structureParams?.(s.labels) ?? params;
      const m = jlfMargin(p);
      const mask = v.mask.slice();
      const doubt = v.doubt.slice();
      let computed = 0;
      await Promise.all(
        splitX(v.box, v.doubt, dims)
          // Without a region radius only voxels where the maps disagree are computed: their own box is enough.
          .map((part) => (p.regionRadius === 0 ? boxWhereIn(part, v.doubt, dims) : part))
          .filter((part): part is VoxelBox => part !== null)
          .map(async (core) => {
            const box: VoxelBox = { lo: core.lo.map((x) => x - m) as VoxelBox['lo'], hi: core.hi.map((x) => x + m) as VoxelBox['hi'] };
            const size = [0, 1, 2].map((k) => box.hi[k] - box.lo[k] + 1);
            const target = new Float32Array(size[0] * size[1] * size[2]);
            forCrop(box, dims, (o, i) => (target[o] = values[i]));
            const job: JlfJob = { dims, box, core, target, pairs: input.pairs, labels: s.labels ? [...s.labels] : undefined, params: p };
            const r = await fusionPool().run('joint-label-fusion', job, { signal: input.signal, transfer: [target.buffer] });
            computed += r.computed;
            forCrop(box, dims, (o, i) => {
              const x = i % dims[0];
              const y = Math.floor(i / dims[0]) % dims[1];
              const z = Math.floor(i / (dims[0] * dims[1]));
              if (x < core.lo[0] || x > core.hi[0] || y < core.lo[1] || y > core.hi[1] || z < core.lo[2] || z > core.hi[2]) return;
              const q = r.probability[o];
              mask[i] = q >= 0.5 ? 1 : 0;
              doubt[i] = doubtOf(q);
            });
          }),
      );
      const t = trim(s.labels);
      if (t) trimByIntensity(values, mask, doubt, dims, v.box, t);
      return { mask, doubt, dims: v.dims, box: v.box, computed };
    }),
  );
  // An idle worker allocates nothing, so the crops of its last jobs are never collected: kept from run to run they
  // made a batch's memory grow with its scans (1 → 3 scans: +33 %, +7 % with this; docs/batch.md). A worker starts
  // in well under a second, next to the seconds a fusion takes.
  await fusionPool().releaseIdle();
  return fused;
}

/** The box of the voxels inside `box` where `data` is non-zero, or null. */
function boxWhereIn(box: VoxelBox, data: Uint8Array, dims: readonly number[]): VoxelBox | null {
  const [nx, ny] = dims;
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-1, -1, -1];
  for (let z = box.lo[2]; z <= box.hi[2]; z++)
    for (let y = box.lo[1]; y <= box.hi[1]; y++) {
      const row = nx * (y + ny * z);
      for (let x = box.lo[0]; x <= box.hi[0]; x++)
        if (data[row + x] > 0) {
          if (x < lo[0]) lo[0] = x;
          if (x > hi[0]) hi[0] = x;
          if (y < lo[1]) lo[1] = y;
          if (y > hi[1]) hi[1] = y;
          if (z < lo[2]) lo[2] = z;
          if (z > hi[2]) hi[2] = z;
        }
    }
  return hi[0] < 0 ? null : { lo: lo as VoxelBox['lo'], hi: hi as VoxelBox['hi'] };
}

/**
 * `box` as two boxes split along x at the middle of the widest run of x-slices where no map disagrees (the
 * vote's doubt is 0), or at the median disagreeing voxel when there is no such run; one box when it is thin.
 */
export function splitX(box: VoxelBox, doubt: Uint8Array, dims: readonly number[]): VoxelBox[] {
  const [nx, ny] = dims;
  const width = box.hi[0] - box.lo[0] + 1;
  if (width < 16) return [box];
  const perX = new Float64Array(width);
  for (let z = box.lo[2]; z <= box.hi[2]; z++)
    for (let y = box.lo[1]; y <= box.hi[1]; y++) {
      const row = nx * (y + ny * z);
      for (let x = box.lo[0]; x <= box.hi[0]; x++) if (doubt[row + x] > 0) perX[x - box.lo[0]]++;
    }
  let best = { start: -1, len: 0 };
  for (let x = 0; x < width;) {
    if (perX[x] > 0) {
      x++;
      continue;
    }
    let e = x;
    while (e < width && perX[e] === 0) e++;
    // Only gaps between disagreeing slices split anything.
    if (x > 0 && e < width && e - x > best.len) best = { start: x, len: e - x };
    x = e;
  }
  let cut: number;
  if (best.len > 0) cut = best.start + Math.floor(best.len / 2);
  else {
    const total = perX.reduce((a, b) => a + b, 0);
    let acc = 0;
    cut = 0;
    while (cut < width - 1 && acc + perX[cut] < total / 2) acc += perX[cut++];
  }
  if (cut <= 0 || cut >= width - 1) return [box];
  const at = box.lo[0] + cut;
  return [
    { lo: [...box.lo], hi: [at, box.hi[1], box.hi[2]] },
    { lo: [at + 1, box.lo[1], box.lo[2]], hi: [...box.hi] },
  ];
}
