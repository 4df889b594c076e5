import { performance } from 'node:perf_hooks';
import { InputError } from '../common/errors.js';
import type { JobHandler } from '../compute/protocol.js';
import { realValues } from '../engine/processing/intensity.js';
import { labelMembership } from '../imaging/labels.js';
import { readNifti } from '../imaging/nifti/read.js';
import type { Volume } from '../imaging/volume.js';
import { spatialDims } from '../imaging/volume.js';
import type { VoxelBox } from '../imaging/voxel-box.js';
import { jointLabelFusion } from './jlf.js';
import type { JlfParams } from './jlf.js';
import { matchIntensities } from './match-intensities.js';

/** One structure's joint label fusion as a compute job: the crop of the target, the aligned pairs as files. */
export interface JlfJob {
  /** Full target grid size (the aligned files must have it). */
  dims: [number, number, number];
  /** The crop in target voxels; may reach outside the grid (read as zero there). */
  box: VoxelBox;
  /** The voxels this job computes (inside `box`, which adds the margin its patches and search need). */
  core: VoxelBox;
  /** The target's real intensities inside `box`, x fastest. */
  target: Float32Array;
  /** Aligned pairs on the target grid (cache files); `name` is what errors say. */
  pairs: { imageFile: string; labelFile: string; name: string }[];
  labels: number[] | undefined;
  params: JlfParams;
}

/** The job of the fusion workers (worker.ts). */
export type FusionJobs = { 'joint-label-fusion': { payload: JlfJob; result: JlfJobResult; progress: never } };

export interface JlfJobResult {
  /** Fused probability inside `box` (agreed voxels 0 or 1). */
  probability: Float32Array;
  computed: number;
  /** Per pair: labels whose medians matched its intensities to the target's (0: left unchanged). */
  matched: number[];
  seconds: { read: number; fuse: number };
}

/**
 * The worker side: reads one pair at a time and keeps only its crop (image and membership), so memory grows
 * with the crop and the number of pairs, never with whole maps; then fuses.
 */
export const jlfJob: JobHandler<FusionJobs['joint-label-fusion']> = async (job, _progress, signal) => {
  const t0 = performance.now();
  const cdims = [0, 1, 2].map((k) => job.box.hi[k] - job.box.lo[k] + 1) as [number, number, number];
  const atlases: { image: Float32Array; label: Uint8Array }[] = [];
  // Where most maps have any label (the brain for a whole-head label map): the z-scoring mask.
  const anyLabel = new Uint16Array(cdims[0] * cdims[1] * cdims[2]);
  const matched: number[] = [];
  for (const p of job.pairs) {
    signal.throwIfAborted();
    const label = await readNifti(p.labelFile);
    checkGrid(label, job.dims, p.name);
    const member = labelMembership(label, job.labels);
    const any = labelMembership(label, undefined);
    const l = new Uint8Array(anyLabel.length);
    // The whole label map's values in the crop, for matching intensities tissue by tissue.
    const tissue = job.params.match !== 'none' ? new Int32Array(anyLabel.length) : null;
    forCrop(job.box, job.dims, (o, i) => {
      const v = label.data[i];
      l[o] = member(v);
      anyLabel[o] += any(v);
      if (tissue) tissue[o] = v;
    });
    const imageVol = await readNifti(p.imageFile);
    checkGrid(imageVol, job.dims, p.name);
    const values = realValues(imageVol);
    const img = new Float32Array(anyLabel.length);
    forCrop(job.box, job.dims, (o, i) => (img[o] = values[i]));
    const m = tissue ? matchIntensities(job.target, img, tissue, cdims, job.params.match) : { image: img, labels: 0 };
    matched.push(m.labels);
    atlases.push({ image: m.image, label: l });
  }
  const normalizeMask = new Uint8Array(anyLabel.length);
  for (let i = 0; i < anyLabel.length; i++) normalizeMask[i] = 2 * anyLabel[i] > job.pairs.length ? 1 : 0;
  const t1 = performance.now();
  const core = { lo: job.core.lo.map((l, k) => l - job.box.lo[k]), hi: job.core.hi.map((h, k) => h - job.box.lo[k]) };
  const r = jointLabelFusion({ dims: cdims, target: job.target, atlases, normalizeMask, core }, job.params, signal);
  const value: JlfJobResult = {
    probability: r.probability,
    computed: r.computed,
    matched,
    seconds: { read: (t1 - t0) / 1000, fuse: (performance.now() - t1) / 1000 },
  };
  return { value, transfer: [r.probability.buffer as ArrayBuffer] };
};

function checkGrid(v: Volume, dims: readonly number[], name: string): void {
  const d = spatialDims(v);
  if (d.some((x, k) => x !== dims[k])) throw new InputError(name, `its aligned map is ${d.join('×')}, the target ${dims.join('×')}: align it first`);
}

/** Calls `f(cropIndex, volumeIndex)` for every crop voxel inside the volume (the rest stay zero). */
export function forCrop(box: VoxelBox, dims: readonly number[], f: (o: number, i: number) => void): void {
  const [nx, ny, nz] = dims;
  const cx = box.hi[0] - box.lo[0] + 1;
  const cy = box.hi[1] - box.lo[1] + 1;
  for (let z = box.lo[2]; z <= box.hi[2]; z++) {
    if (z < 0 || z >= nz) continue;
    for (let y = box.lo[1]; y <= box.hi[1]; y++) {
      if (y < 0 || y >= ny) continue;
      const o0 = cx * (y - box.lo[1] + cy * (z - box.lo[2])) - box.lo[0];
      const i0 = nx * (y + ny * z);
      for (let x = Math.max(0, box.lo[0]); x <= Math.min(nx - 1, box.hi[0]); x++) f(o0 + x, i0 + x);
    }
  }
}
