/**
 * Intensity matching of an aligned pair to the target before joint label fusion compares their patches
 * (the per-label intensity normalisation of multi-atlas work): a pair whose contrast differs from the
 * target's (a synthetic starter head, another scanner's pair) otherwise makes the patch search and weights
 * follow the contrast difference instead of the anatomy.
 *
 * The pair's own label map says which tissue each of its voxels is; after alignment the same voxels of the
 * target are mostly the same tissue, so the medians of both images under each label (only where the label is
 * confident: the voxel and its six neighbours carry it) give the target's intensity of each of the pair's
 * tissues. Two ways to move the pair's image there:
 * - `shift`: each voxel moves by its label's difference of medians (target − pair), the shifts smoothed over
 *   about a voxel so a boundary is not made sharper than the scanner drew it;
 * - `curve`: one monotone piecewise-linear map of intensities through the labels' median pairs (isotonic fit,
 *   weighted by voxel count), so the pair's image keeps its own edges and only its grey levels change.
 *
 * A label map with too few tissues in the crop (a user's pair that carries one structure: the structure and
 * "not it") says nothing about the rest of the image, and shifting the structure alone would draw its own
 * boundary into the image: such a pair is left as it is.
 */

export type IntensityMatch = 'none' | 'shift' | 'curve';

export interface MatchOptions {
  /** Confident voxels a label needs in the crop to count (its median is then robust). */
  minVoxels: number;
  /** Labels other than 0 that must count, else the pair is left unchanged. */
  minLabels: number;
}

export const MATCH_DEFAULTS: MatchOptions = { minVoxels: 20, minLabels: 3 };

export interface MatchResult {
  /** The pair's image on the target's intensities (the input itself when unchanged). */
  image: Float32Array;
  /** Labels whose medians were used (0 when the pair was left unchanged). */
  labels: number;
}

/** Per label: median of the target and of the pair's image over the label's confident voxels. */
export function labelMedians(
  target: ArrayLike<number>,
  image: ArrayLike<number>,
  labels: ArrayLike<number>,
  dims: readonly number[],
  minVoxels: number,
): { label: number; target: number; pair: number; count: number }[] {
  const [nx, ny, nz] = dims;
  const plane = nx * ny;
  const byLabel = new Map<number, { t: number[]; a: number[] }>();
  for (let z = 1; z < nz - 1; z++)
    for (let y = 1; y < ny - 1; y++)
      for (let x = 1, i = 1 + nx * (y + ny * z); x < nx - 1; x++, i++) {
        const l = labels[i];
        if (labels[i - 1] !== l || labels[i + 1] !== l || labels[i - nx] !== l || labels[i + nx] !== l || labels[i - plane] !== l || labels[i + plane] !== l)
          continue;
        let e = byLabel.get(l);
        if (!e) byLabel.set(l, (e = { t: [], a: [] }));
        e.t.push(target[i]);
        e.a.push(image[i]);
      }
  const out: { label: number; target: number; pair: number; count: number }[] = [];
  for (const [label, e] of byLabel) if (e.t.length >= minVoxels) out.push({ label, target: median(e.t), pair: median(e.a), count: e.t.length });
  return out.sort((p, q) => p.label - q.label);
}

/** The pair's crop `image` (labels `labels`, same grid as the target's crop) moved onto the target's intensities. */
export function matchIntensities(
  target: Float32Array,
  image: Float32Array,
  labels: ArrayLike<number>,
  dims: readonly number[],
  mode: IntensityMatch,
  o: MatchOptions = MATCH_DEFAULTS,
): MatchResult {
  if (mode === 'none') return { image, labels: 0 };
  const meds = labelMedians(target, image, labels, dims, o.minVoxels);
  if (meds.filter((m) => m.label !== 0).length < o.minLabels) return { image, labels: 0 };
  return { image: mode === 'shift' ? shiftByLabel(image, labels, dims, meds) : mapByCurve(image, monotoneCurve(meds)), labels: meds.length };
}

function shiftByLabel(
  image: Float32Array,
  labels: ArrayLike<number>,
  dims: readonly number[],
  meds: { label: number; target: number; pair: number; count: number }[],
): Float32Array {
  const shiftOf = new Map(meds.map((m) => [m.label, m.target - m.pair]));
  // A label too small to count (or absent from the medians) moves with the tissue around it on average.
  let sw = 0;
  let s = 0;
  for (const m of meds) {
    sw += m.count;
    s += m.count * (m.target - m.pair);
  }
  const fallback = sw > 0 ? s / sw : 0;
  const field = new Float32Array(image.length);
  for (let i = 0; i < image.length; i++) field[i] = shiftOf.get(labels[i]) ?? fallback;
  const smooth = gaussian3(field, dims, 1);
  const out = new Float32Array(image.length);
  for (let i = 0; i < image.length; i++) out[i] = image[i] + smooth[i];
  return out;
}

/**
 * Knots (pair intensity → target intensity) of a non-decreasing piecewise-linear map through the labels'
 * median pairs: pool-adjacent-violators on the target medians ordered by the pair's, weighted by voxel count;
 * labels at the same pair intensity become one knot.
 */
export function monotoneCurve(meds: { target: number; pair: number; count: number }[]): { x: number[]; y: number[] } {
  const pts = [...meds].sort((p, q) => p.pair - q.pair);
  const blocks: { x: number; xw: number; y: number; w: number }[] = [];
  for (const p of pts) {
    blocks.push({ x: p.pair * p.count, xw: p.count, y: p.target, w: p.count });
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1];
      const a = blocks[blocks.length - 2];
      // Merge while the fit would go down, or two knots share one pair intensity.
      if (a.y < b.y && a.x / a.xw < b.x / b.xw) break;
      blocks.splice(blocks.length - 2, 2, { x: a.x + b.x, xw: a.xw + b.xw, y: (a.y * a.w + b.y * b.w) / (a.w + b.w), w: a.w + b.w });
    }
  }
  return { x: blocks.map((b) => b.x / b.xw), y: blocks.map((b) => b.y) };
}

/** Applies the curve; beyond its ends the map goes on as a line through the origin (MR magnitude: no signal, no signal). */
function mapByCurve(image: Float32Array, c: { x: number[]; y: number[] }): Float32Array {
  const { x, y } = c;
  const n = x.length;
  const out = new Float32Array(image.length);
  const lowSlope = x[0] > 0 ? y[0] / x[0] : 1;
  const highSlope = x[n - 1] > 0 ? y[n - 1] / x[n - 1] : 1;
  for (let i = 0; i < image.length; i++) {
    const v = image[i];
    if (v <= x[0]) out[i] = v * lowSlope;
    else if (v >= x[n - 1]) out[i] = v * highSlope;
    else {
      let k = 1;
      while (x[k] < v) k++;
      out[i] = y[k - 1] + ((v - x[k - 1]) * (y[k] - y[k - 1])) / (x[k] - x[k - 1]);
    }
  }
  return out;
}

function median(v: number[]): number {
  const s = Float64Array.from(v).sort();
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** Separable Gaussian of standard deviation `sigma` voxels (edges clamped). */
function gaussian3(src: Float32Array, dims: readonly number[], sigma: number): Float32Array {
  const r = Math.ceil(2.5 * sigma);
  const k: number[] = [];
  let ks = 0;
  for (let t = -r; t <= r; t++) {
    const w = Math.exp(-(t * t) / (2 * sigma * sigma));
    k.push(w);
    ks += w;
  }
  for (let t = 0; t < k.length; t++) k[t] /= ks;
  const [nx, ny, nz] = dims;
  const strides = [1, nx, nx * ny];
  let a = src;
  for (let axis = 0; axis < 3; axis++) {
    const b = new Float32Array(a.length);
    const len = dims[axis];
    const st = strides[axis];
    for (let i = 0; i < a.length; i++) {
      const c = Math.floor(i / st) % len;
      const base = i - c * st;
      let s = 0;
      for (let t = -r; t <= r; t++) {
        const cc = c + t < 0 ? 0 : c + t >= len ? len - 1 : c + t;
        s += k[t + r] * a[base + cc * st];
      }
      b[i] = s;
    }
    a = b;
  }
  void nz;
  return a;
}
