import type { Volume } from '../../imaging/volume.js';
import { isIntegerVoxelArray, spatialDims, voxelCount } from '../../imaging/volume.js';
import { zeroWords } from './zero-words.js';

/** Real values (slope/intercept applied) of the first 3D frame as float32. */
export function realValues(v: Volume): Float32Array {
  const n = voxelCount(spatialDims(v));
  // NIfTI: scl_slope 0 means "no scaling"; readers may pass it through.
  const { slope, icpt } = scaling(v);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = v.data[i] * slope + icpt;
  return out;
}

/** Linear-interpolated quantile of the finite values (numpy's default definition). */
export function quantiles(values: ArrayLike<number>, qs: number[]): number[] {
  return quantilesBy(values, qs, (x) => x);
}

/**
 * Quantiles of a volume's real values (slope/intercept applied, as `realValues` rounds them to float32),
 * computed from the stored voxels without a float copy of the volume. Exact: with a positive slope the map
 * from stored to real value keeps the order, so the k-th real value is the map of the k-th stored one.
 */
export function volumeQuantiles(v: Volume, qs: number[]): number[] {
  const { slope, icpt } = scaling(v);
  const n = voxelCount(spatialDims(v));
  const data = v.data.length === n ? v.data : v.data.subarray(0, n);
  if (slope < 0) return quantiles(realValues(v), qs);
  return quantilesBy(data, qs, (x) => Math.fround(x * slope + icpt));
}

function scaling(v: Pick<Volume, 'slope' | 'intercept'>): { slope: number; icpt: number } {
  return { slope: v.slope === 0 || !Number.isFinite(v.slope) ? 1 : v.slope, icpt: Number.isFinite(v.intercept) ? v.intercept : 0 };
}

/**
 * Quantiles of `map(values)` for an order-keeping `map`. Ranks are found with a histogram (exact: only the
 * values in the one bin holding a wanted rank are sorted): a selection over a copy took ~0.5 s per 256³
 * volume here, and every click normalises the target and each context image.
 */
function quantilesBy(values: ArrayLike<number>, qs: number[], map: (x: number) => number): number[] {
  const small = smallIntegerHistogram(values);
  if (small) return quantilesOfHistogram(small.hist, small.min, qs, map);
  const n = values.length;
  let min = Infinity;
  let max = -Infinity;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const x = values[i];
    if (x === x && x !== Infinity && x !== -Infinity) {
      if (x < min) min = x;
      if (x > max) max = x;
      count++;
    }
  }
  if (count === 0) return qs.map(() => 0);
  const ranks = new Set<number>();
  for (const q of qs) {
    const lo = Math.floor(q * (count - 1));
    ranks.add(lo);
    if (lo + 1 < count) ranks.add(lo + 1);
  }
  const kth = kthValues(values, [...ranks], min, max);
  return qs.map((q) => {
    const pos = q * (count - 1);
    const lo = Math.floor(pos);
    const a = map(kth.get(lo)!);
    const b = lo + 1 < count ? map(kth.get(lo + 1)!) : a;
    return a + (b - a) * (pos - lo);
  });
}

const BINS = 1 << 16;

/**
 * One counting pass for 8- and 16-bit voxels (most scans), a loop per array type so each stays monomorphic:
 * ~30 ms for 256³ instead of ~100 ms for the general two-pass path. Zero words (zero-words.ts) are counted
 * whole.
 */
function smallIntegerHistogram(values: ArrayLike<number>): { hist: Float64Array; min: number } | null {
  if (values instanceof Uint8Array) return { hist: countUint8(values), min: 0 };
  if (values instanceof Int16Array) return { hist: countInt16(values), min: -32768 };
  if (values instanceof Uint16Array) return { hist: countUint16(values), min: 0 };
  return null;
}

// Counted in 32-bit integers (a volume has fewer than 2^32 voxels), which increment faster than doubles.
function countUint8(a: Uint8Array): Float64Array {
  const zw = zeroWords(a);
  if (!zw) {
    const h = new Uint32Array(256);
    for (let i = 0; i < a.length; i++) h[a[i]]++;
    return Float64Array.from(h);
  }
  // The four bytes of a word go to four tables: runs of one value (the background) would otherwise make each
  // increment wait for the one before it to the same counter.
  const h = new Uint32Array(1024);
  const { words } = zw;
  let zeros = 0;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === 0) {
      zeros++;
      continue;
    }
    h[w & 255]++;
    h[256 + ((w >>> 8) & 255)]++;
    h[512 + ((w >>> 16) & 255)]++;
    h[768 + (w >>> 24)]++;
  }
  const out = new Float64Array(256);
  for (let b = 0; b < 256; b++) out[b] = h[b] + h[256 + b] + h[512 + b] + h[768 + b];
  out[0] += 4 * zeros;
  for (let i = words.length * 4; i < a.length; i++) out[a[i]]++;
  return out;
}

function countInt16(a: Int16Array): Float64Array {
  const h = new Uint32Array(65536);
  const zw = zeroWords(a);
  const words = zw ? zw.words : new Uint32Array(0);
  let zeros = 0;
  for (let k = 0; k < words.length; k++) {
    if (words[k] === 0) {
      zeros++;
      continue;
    }
    h[a[2 * k] + 32768]++;
    h[a[2 * k + 1] + 32768]++;
  }
  h[32768] += 2 * zeros;
  for (let i = words.length * 2; i < a.length; i++) h[a[i] + 32768]++;
  return Float64Array.from(h);
}

// The same as countInt16 for unsigned voxels: a loop of its own, so that each sees one array type.
function countUint16(a: Uint16Array): Float64Array {
  const h = new Uint32Array(65536);
  const zw = zeroWords(a);
  const words = zw ? zw.words : new Uint32Array(0);
  let zeros = 0;
  for (let k = 0; k < words.length; k++) {
    if (words[k] === 0) {
      zeros++;
      continue;
    }
    h[a[2 * k]]++;
    h[a[2 * k + 1]]++;
  }
  h[0] += 2 * zeros;
  for (let i = words.length * 2; i < a.length; i++) h[a[i]]++;
  return Float64Array.from(h);
}

/** Linear-interpolated quantiles from exact counts of the integer values min, min + 1, ... */
function quantilesOfHistogram(hist: Float64Array, min: number, qs: number[], map: (x: number) => number): number[] {
  let count = 0;
  for (let b = 0; b < hist.length; b++) count += hist[b];
  if (count === 0) return qs.map(() => 0);
  const kth = (rank: number) => {
    let cum = 0;
    let b = 0;
    while (cum + hist[b] <= rank) cum += hist[b++];
    return min + b;
  };
  return qs.map((q) => {
    const pos = q * (count - 1);
    const lo = Math.floor(pos);
    const a = map(kth(lo));
    const b = lo + 1 < count ? map(kth(lo + 1)) : a;
    return a + (b - a) * (pos - lo);
  });
}

/** The k-th smallest finite values for each wanted rank: a histogram pass, then a sort of the wanted bins only. */
function kthValues(values: ArrayLike<number>, ranks: number[], min: number, max: number): Map<number, number> {
  const out = new Map<number, number>();
  if (min === max) {
    for (const r of ranks) out.set(r, min);
    return out;
  }
  // Integer voxels spanning few values get one bin per value, so no bin needs sorting at all.
  const integral = Number.isInteger(min) && Number.isInteger(max) && max - min < BINS && isIntegerVoxelArray(values);
  const bins = integral ? max - min + 1 : BINS;
  const scale = integral ? 1 : (bins - 1) / (max - min);
  const bin = (x: number) => Math.floor((x - min) * scale);
  const hist = new Float64Array(bins);
  const n = values.length;
  for (let i = 0; i < n; i++) {
    const x = values[i];
    if (x === x && x !== Infinity && x !== -Infinity) hist[bin(x)]++;
  }
  // Which bin holds each rank, and how many values come before that bin.
  const want = new Map<number, { rank: number; before: number }[]>();
  const sorted = [...ranks].sort((a, b) => a - b);
  let cum = 0;
  let b = 0;
  for (const r of sorted) {
    while (cum + hist[b] <= r) cum += hist[b++];
    const list = want.get(b) ?? [];
    list.push({ rank: r, before: cum });
    want.set(b, list);
  }
  if (integral) {
    for (const [bb, list] of want) for (const w of list) out.set(w.rank, min + bb);
    return out;
  }
  // The wanted bins' values, gathered into one buffer (bin order), then each bin's slice sorted.
  const slot = new Int32Array(bins).fill(-1);
  const offsets: number[] = [];
  let total = 0;
  for (const bb of [...want.keys()].sort((a, c) => a - c)) {
    slot[bb] = offsets.length;
    offsets.push(total);
    total += hist[bb];
  }
  const gathered = new Float64Array(total);
  const fill = offsets.slice();
  for (let i = 0; i < n; i++) {
    const x = values[i];
    if (x === x && x !== Infinity && x !== -Infinity) {
      const s = slot[bin(x)];
      if (s >= 0) gathered[fill[s]++] = x;
    }
  }
  for (const [bb, list] of want) {
    const s = slot[bb];
    // Selection, not a sort: the bin of the background value can hold half of the volume.
    const m = gathered.subarray(offsets[s], offsets[s] + hist[bb]);
    for (const w of list) out.set(w.rank, selectKth(m, w.rank - w.before));
  }
  return out;
}

/**
 * The percentile-minmax normalisation of one volume as a function of a stored voxel value, so a resampler can
 * normalise only the voxels it reads: the same float32 roundings as `percentileNormalize(realValues(v))`.
 */
export function percentileNormalizer(v: Volume, lower: number, upper: number): (stored: number) => number {
  const [lo, hi] = volumeQuantiles(v, [lower, upper]);
  return rangeNormalizer(v, lo, hi);
}

/** `percentileNormalizer` with its quantiles given: stored value → real value clipped to [lo, hi] → [0, 1]. */
export function rangeNormalizer(v: Pick<Volume, 'slope' | 'intercept'>, lo: number, hi: number): (stored: number) => number {
  const { slope, icpt } = scaling(v);
  const range = hi - lo;
  if (!(range > 1e-12)) return () => 0;
  return (stored) => {
    const x = Math.fround(stored * slope + icpt);
    return Number.isFinite(x) ? Math.fround((Math.min(Math.max(x, lo), hi) - lo) / range) : 0;
  };
}

/**
 * Clip to the [lower, upper] quantiles, then min-max to [0, 1] (paper: 0.02/0.98). A constant volume maps
 * to 0 everywhere, like the reference normalize_3d_volume's eps guard. NaN becomes 0.
 */
export function percentileNormalize(values: Float32Array, lower: number, upper: number): Float32Array {
  const [lo, hi] = quantiles(values, [lower, upper]);
  const range = hi - lo;
  const out = new Float32Array(values.length);
  if (!(range > 1e-12)) return out;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    out[i] = Number.isFinite(x) ? (Math.min(Math.max(x, lo), hi) - lo) / range : 0;
  }
  return out;
}

/** Rearranges `a` so that a[k] is its k-th smallest value (Hoare selection, median-of-three pivot). */
function selectKth(a: Float64Array, k: number): number {
  let left = 0;
  let right = a.length - 1;
  while (right > left) {
    const mid = (left + right) >>> 1;
    const x = a[left],
      y = a[mid],
      z = a[right];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return a[k];
  }
  return a[k];
}
