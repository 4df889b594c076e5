/**
 * Gradient-boosted decision trees for a two-class problem (logistic loss, Newton leaf values, L2 on the leaves), on
 * features quantised to at most 256 bins per feature, histograms per node with the smaller child's built and the
 * larger's subtracted (the LightGBM / scikit-learn HistGradientBoosting scheme).
 *
 * Written here, not taken from npm: the candidates checked (mljs ml-random-forest 2.1: exact CART that sorts every
 * feature at every node, no boosting; ml-xgboost 1.1: an Emscripten build depending on the 2018 ml-matrix 5) are too
 * slow for ~10⁵ voxels × ~20 features inside a 60-second run or are not maintained; this is ~200 lines and runs in
 * a worker thread without WebAssembly.
 */

export interface BoostingOptions {
  trees: number;
  maxDepth: number;
  learningRate: number;
  /** Fewest samples in a leaf. */
  minLeaf: number;
  /** L2 penalty on leaf values. */
  lambda: number;
  /** Quantisation bins per feature (≤ 256). */
  bins: number;
}

export const DEFAULT_BOOSTING: BoostingOptions = { trees: 120, maxDepth: 6, learningRate: 0.15, minLeaf: 20, lambda: 1, bins: 64 };

/** Bin edges per feature: bin b holds values ≤ edges[f][b] (and above edges[f][b − 1]); the last bin is open. */
export type BinEdges = Float32Array[];

/** Quantile edges from a sample of rows (row-major, `width` features per row). */
export function binEdges(values: Float32Array, width: number, bins: number): BinEdges {
  const rows = values.length / width;
  const edges: BinEdges = [];
  const col = new Float32Array(rows);
  for (let f = 0; f < width; f++) {
    for (let r = 0; r < rows; r++) col[r] = values[r * width + f];
    col.sort();
    const e: number[] = [];
    for (let b = 1; b < bins; b++) {
      const x = col[Math.min(rows - 1, Math.floor((b * rows) / bins))];
      if (e.length === 0 || x > e[e.length - 1]) e.push(x);
    }
    edges.push(Float32Array.from(e));
  }
  return edges;
}

/** Quantises row-major values into bin indices with the given edges (binary search per value). */
export function quantise(values: Float32Array, width: number, edges: BinEdges): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const e = edges[i % width];
    const x = values[i];
    let lo = 0;
    let hi = e.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (x <= e[mid]) hi = mid;
      else lo = mid + 1;
    }
    out[i] = lo;
  }
  return out;
}

/** A fitted ensemble, flat: node arrays over all trees; a leaf has feature −1. */
export interface BoostedTrees {
  width: number;
  base: number;
  roots: Int32Array;
  feature: Int16Array;
  /** Go left when the row's bin ≤ split. */
  split: Uint8Array;
  left: Int32Array;
  right: Int32Array;
  value: Float32Array;
}

/** A simple seeded generator (mulberry32), so a run gives the same mask twice. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Fits trees on quantised rows `x` (rows × width) with 0/1 targets `y`. With `balanced`, each class weighs as much as
 * the other in the loss, whatever their counts (a few small MS plaques against a whole brain).
 */
export function fitBoostedTrees(x: Uint8Array, y: Uint8Array, width: number, options: Partial<BoostingOptions> = {}, balanced = false): BoostedTrees {
  const o = { ...DEFAULT_BOOSTING, ...options };
  const n = y.length;
  if (n === 0 || x.length !== n * width) throw new Error(`boosting: ${n} targets for ${x.length / width} rows`);
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i];
  const weight = [1, 1];
  if (balanced && positives > 0 && positives < n) [weight[0], weight[1]] = [n / (2 * (n - positives)), n / (2 * positives)];
  const rate = balanced && positives > 0 && positives < n ? 0.5 : Math.min(1 - 1e-6, Math.max(1e-6, positives / n));
  const base = Math.log(rate / (1 - rate));
  const score = new Float64Array(n).fill(base);
  const g = new Float64Array(n);
  const h = new Float64Array(n);
  const order = new Int32Array(n);
  const nb = o.bins;
  const histSize = width * nb * 3;
  const nodes = { feature: [] as number[], split: [] as number[], left: [] as number[], right: [] as number[], value: [] as number[] };
  const roots: number[] = [];
  const pool: Float64Array[] = [];
  const takeHist = () => pool.pop() ?? new Float64Array(histSize);

  const build = (from: number, to: number): Float64Array => {
    const hist = takeHist().fill(0);
    for (let p = from; p < to; p++) {
      const r = order[p];
      const gr = g[r];
      const hr = h[r];
      const base = r * width;
      for (let f = 0; f < width; f++) {
        const at = (f * nb + x[base + f]) * 3;
        hist[at] += gr;
        hist[at + 1] += hr;
        hist[at + 2] += 1;
      }
    }
    return hist;
  };

  const leaf = (G: number, H: number): number => {
    const id = nodes.feature.length;
    nodes.feature.push(-1);
    nodes.split.push(0);
    nodes.left.push(-1);
    nodes.right.push(-1);
    nodes.value.push((-G / (H + o.lambda)) * o.learningRate);
    return id;
  };

  /** Grows the subtree of order[from..to) whose histogram is `hist`; returns its node id and recycles `hist`. */
  const grow = (from: number, to: number, hist: Float64Array, depth: number, G: number, H: number): number => {
    const count = to - from;
    if (depth >= o.maxDepth || count < 2 * o.minLeaf) {
      pool.push(hist);
      return leaf(G, H);
    }
    const parentScore = (G * G) / (H + o.lambda);
    let best = 1e-9;
    let bestF = -1;
    let bestB = 0;
    for (let f = 0; f < width; f++) {
      let gl = 0;
      let hl = 0;
      let cl = 0;
      for (let b = 0; b < nb - 1; b++) {
        const at = (f * nb + b) * 3;
        gl += hist[at];
        hl += hist[at + 1];
        cl += hist[at + 2];
        if (cl < o.minLeaf) continue;
        if (count - cl < o.minLeaf) break;
        const gr = G - gl;
        const hr = H - hl;
        const gain = (gl * gl) / (hl + o.lambda) + (gr * gr) / (hr + o.lambda) - parentScore;
        if (gain > best) {
          best = gain;
          bestF = f;
          bestB = b;
        }
      }
    }
    if (bestF < 0) {
      pool.push(hist);
      return leaf(G, H);
    }
    // Partition order[from..to) in place: rows with bin ≤ bestB first.
    let i = from;
    let j = to - 1;
    while (i <= j) {
      if (x[order[i] * width + bestF] <= bestB) i++;
      else {
        const t = order[i];
        order[i] = order[j];
        order[j] = t;
        j--;
      }
    }
    const mid = i;
    let gl = 0;
    let hl = 0;
    for (let b = 0; b <= bestB; b++) {
      gl += hist[(bestF * nb + b) * 3];
      hl += hist[(bestF * nb + b) * 3 + 1];
    }
    const leftSmaller = mid - from <= to - mid;
    const small = leftSmaller ? build(from, mid) : build(mid, to);
    // The larger child's histogram: the parent's minus the smaller's, in the parent's buffer.
    for (let k = 0; k < histSize; k++) hist[k] -= small[k];
    const [lh, rh] = leftSmaller ? [small, hist] : [hist, small];
    const id = nodes.feature.length;
    nodes.feature.push(bestF);
    nodes.split.push(bestB);
    nodes.left.push(-1);
    nodes.right.push(-1);
    nodes.value.push(0);
    nodes.left[id] = grow(from, mid, lh, depth + 1, gl, hl);
    nodes.right[id] = grow(mid, to, rh, depth + 1, G - gl, H - hl);
    return id;
  };

  for (let t = 0; t < o.trees; t++) {
    let G = 0;
    let H = 0;
    for (let r = 0; r < n; r++) {
      const p = 1 / (1 + Math.exp(-score[r]));
      const w = weight[y[r]];
      g[r] = w * (p - y[r]);
      h[r] = w * Math.max(p * (1 - p), 1e-12);
      G += g[r];
      H += h[r];
      order[r] = r;
    }
    const first = nodes.feature.length;
    roots.push(grow(0, n, build(0, n), 0, G, H));
    // Update the scores with this tree's leaves (only its own nodes are visited).
    for (let r = 0; r < n; r++) {
      let k = roots[t];
      while (nodes.feature[k] >= 0) k = x[r * width + nodes.feature[k]] <= nodes.split[k] ? nodes.left[k] : nodes.right[k];
      score[r] += nodes.value[k];
    }
    if (nodes.feature.length === first + 1 && nodes.feature[first] < 0 && Math.abs(nodes.value[first]) < 1e-9) break;
  }
  return {
    width,
    base,
    roots: Int32Array.from(roots),
    feature: Int16Array.from(nodes.feature),
    split: Uint8Array.from(nodes.split),
    left: Int32Array.from(nodes.left),
    right: Int32Array.from(nodes.right),
    value: Float32Array.from(nodes.value),
  };
}

/**
 * Probability of class 1 for every row of raw feature values (row-major, `model.width` per row), with the bin edges
 * the model was fitted on. A split "bin ≤ b" is the same test as "value ≤ edges[b]" (edges strictly increase; the last
 * bin is open), so a target's million-odd rows are never quantised: that took as long as the trees themselves.
 */
export function predictBoostedTrees(model: BoostedTrees, values: Float32Array, edges: BinEdges): Float32Array {
  const { width, roots, feature, split, left, right, value } = model;
  const limit = new Float32Array(feature.length);
  for (let k = 0; k < feature.length; k++) {
    if (feature[k] < 0) continue;
    const e = edges[feature[k]];
    limit[k] = split[k] < e.length ? e[split[k]] : Infinity;
  }
  const n = values.length / width;
  const out = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    let s = model.base;
    const base = r * width;
    for (let t = 0; t < roots.length; t++) {
      let k = roots[t];
      while (feature[k] >= 0) k = values[base + feature[k]] <= limit[k] ? left[k] : right[k];
      s += value[k];
    }
    out[r] = 1 / (1 + Math.exp(-s));
  }
  return out;
}
