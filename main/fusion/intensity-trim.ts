import type { VoxelBox } from '../imaging/voxel-box.js';
import { DOUBT_SCALE } from './vote.js';
import { dilateCube } from './dilate.js';

/**
 * Intensity trim of a fused structure's edge: the classical intensity-based refinement after label fusion (Ledig et
 * al., "Robust whole-brain segmentation: application to traumatic brain injury", Med Image Anal 2015, MALP-EM;
 * here reduced to one structure against its surroundings and to removing voxels only).
 *
 * Why: joint label fusion's local search lets each atlas take its label from the best-matching patch within a few
 * voxels, so where the target's neighbours of a structure look like the structure in patches (partial volume
 * at the white matter, the thin CSF of the temporal horn) the fused mask spills into them. On the dev heads the
 * hippocampus of the smallest one came out 16–23 % above FreeSurfer's while the atlases, aligned, were about its size
 * (docs/volumetry.md). The target's own intensities say which edge voxels belong: the structure's intensity is
 * learned from the fused interior (robust: median and MAD), the surroundings' from a ring just outside the mask
 * (a histogram: white matter, CSF and grey neighbours at once), and an edge voxel stays when the structure explains
 * its intensity at least as well as the surroundings, with the fusion's probability as the prior.
 *
 * Voxels are only removed, never added: outside, the ring's grey neighbours (cortex, amygdala) look like the
 * structure and adding them grew the mask and lowered Dice on the dev heads.
 */
export interface IntensityTrimParams {
  /** How deep into the mask (voxels from its edge) voxels may be removed; also the width of the outside ring. */
  band: number;
  /**
   * The fusion's probability p becomes the prior ε + (1 − 2ε)·p, so that even a voxel every atlas agreed on can
   * go when its intensity is ε/(1 − ε) times less likely for the structure than for its surroundings.
   */
  epsilon: number;
  /** The structure's intensity spread: this many times its interior's MAD-based standard deviation. */
  widen: number;
}

/** Measured on the dev heads (docs/volumetry.md, "Hippocampal volume"). */
export const INTENSITY_TRIM_DEFAULTS: IntensityTrimParams = { band: 2, epsilon: 0.1, widen: 2 };

/**
 * The structures trimmed: the hippocampus (FreeSurfer aseg 17 left, 53 right), alone or both sides. Measured on the
 * dev heads, the trim helps it (Dice and volume) and hurts the lateral ventricle (FreeSurfer counts its partial-volume
 * edge as ventricle) and the putamen; other structures were not measured and are left as fused.
 */
const TRIMMED_LABELS: ReadonlySet<number> = new Set([17, 53]);

/** The trim's parameters for a structure of these label values, or null where it is not trimmed. */
export function intensityTrimFor(labels?: readonly number[]): IntensityTrimParams | null {
  return labels?.length && labels.every((l) => TRIMMED_LABELS.has(l)) ? INTENSITY_TRIM_DEFAULTS : null;
}

/** Fewer interior voxels than this: no model of the structure's intensity, nothing is trimmed. */
const MIN_INTERIOR = 50;

/**
 * Removes, in place, the voxels of `mask` near its edge whose intensity the surroundings explain better than the
 * structure (see above); their doubt becomes that of the posterior. Only voxels inside `box` grown by the band are
 * read or changed. Returns how many voxels were removed.
 */
export function trimByIntensity(
  values: ArrayLike<number>,
  mask: Uint8Array,
  doubt: Uint8Array,
  dims: readonly number[],
  box: VoxelBox,
  params: IntensityTrimParams = INTENSITY_TRIM_DEFAULTS,
): number {
  const [nx, ny, nz] = dims;
  const g = params.band + 1;
  const lo = [Math.max(0, box.lo[0] - g), Math.max(0, box.lo[1] - g), Math.max(0, box.lo[2] - g)];
  const hi = [Math.min(nx - 1, box.hi[0] + g), Math.min(ny - 1, box.hi[1] + g), Math.min(nz - 1, box.hi[2] + g)];
  const cd = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
  const size = cd[0] * cd[1] * cd[2];
  // Crop of the mask, and each crop voxel's index in the volume.
  const m = new Uint8Array(size);
  const at = new Int32Array(size);
  for (let z = 0, o = 0; z < cd[2]; z++)
    for (let y = 0; y < cd[1]; y++)
      for (let x = 0, i = lo[0] + nx * (lo[1] + y + ny * (lo[2] + z)); x < cd[0]; x++, o++, i++) {
        at[o] = i;
        m[o] = mask[i] ? 1 : 0;
      }
  const outside = m.map((v) => 1 - v);
  const ring = dilateCube(m, cd, params.band);
  const deep = dilateCube(outside, cd, params.band); // 1 where within `band` of the outside: not deep inside
  const edge1 = dilateCube(outside, cd, 1);

  // The structure's intensity: voxels of the mask that the fusion is sure of (doubt 0) and that are not on its edge.
  const inside: number[] = [];
  for (let o = 0; o < size; o++) if (m[o] && !edge1[o] && doubt[at[o]] === 0) inside.push(values[at[o]]);
  if (inside.length < MIN_INTERIOR) return 0;
  const median = medianOf(inside);
  const sd = params.widen * 1.4826 * medianOf(inside.map((v) => Math.abs(v - median)));
  if (!(sd > 0)) return 0;

  // The surroundings' intensity: a histogram of the ring outside the mask, bins of half the structure's spread.
  const bin = sd / 2;
  const counts = new Map<number, number>();
  let n = 0;
  for (let o = 0; o < size; o++)
    if (ring[o] && !m[o]) {
      const b = Math.floor(values[at[o]] / bin);
      counts.set(b, (counts.get(b) ?? 0) + 1);
      n++;
    }
  if (n === 0) return 0;
  const outsideDensity = (v: number) => {
    const b = Math.floor(v / bin);
    // Smoothed over neighbouring bins, and never zero: an intensity the ring lacks is not proof of the structure.
    const c = 0.25 * (counts.get(b - 1) ?? 0) + 0.5 * (counts.get(b) ?? 0) + 0.25 * (counts.get(b + 1) ?? 0);
    return (c + 0.5) / (n * bin);
  };
  const insideDensity = (v: number) => Math.exp(-0.5 * ((v - median) / sd) ** 2) / (sd * Math.sqrt(2 * Math.PI));

  let removed = 0;
  const e = params.epsilon;
  for (let o = 0; o < size; o++) {
    if (!m[o] || !deep[o]) continue;
    const i = at[o];
    const p = 1 - doubt[i] / DOUBT_SCALE / 2; // the mask's voxels have p ≥ ½: doubt 1 − |2p − 1| gives it back
    const prior = e + (1 - 2 * e) * p;
    const a = prior * insideDensity(values[i]);
    const b = (1 - prior) * outsideDensity(values[i]);
    if (a >= b) continue;
    mask[i] = 0;
    const q = a / (a + b);
    doubt[i] = Math.round(DOUBT_SCALE * (1 - Math.abs(2 * q - 1)));
    removed++;
  }
  return removed;
}

function medianOf(xs: number[]): number {
  const s = Float64Array.from(xs).sort();
  return s[Math.floor(s.length / 2)];
}
