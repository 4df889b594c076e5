import { binEdges, DEFAULT_BOOSTING, fitBoostedTrees, predictBoostedTrees, quantise, seededRandom, type BoostingOptions } from './boosting.js';
import { applyCleanup, chooseCleanup, exampleLesionSizes, type CleanupRule, type ScoredCase } from './cleanup.js';
import { cropArray, lesionFeatures, uncropMask, type FeatureSet, type LesionImage } from './features.js';
import { distanceToOutside, gaussian } from './filters.js';

/** An example pair: the image (all its channels) and its lesion mask (non-zero = lesion) on the same grid. */
export interface LesionExample {
  image: LesionImage;
  label: ArrayLike<number>;
}

export interface ClassifierOptions {
  boosting: Partial<BoostingOptions>;
  /** Lesion and non-lesion voxels drawn from each example (each half of this): bounds memory and fit time. */
  samplesPerExample: number;
  /** Of the non-lesion voxels drawn, the share taken within `ringMm` of a lesion (the hard ones at its border). */
  ringShare: number;
  ringMm: number;
  /** Probabilities are smoothed at this σ (mm) before the threshold: fewer single-voxel specks. */
  smoothMm: number;
  thresholds: readonly number[];
  seed: number;
  /** Add the difference with the mirror image across the brain's left–right centre (features.ts). */
  mirror: boolean;
  /** Distance to the brain's edge as a feature, capped at this many mm (0: none; Infinity: uncapped). */
  edgeCapMm: number;
}

/**
 * Chosen in leave-one-out on the dev gliomas and MS patients (docs/lesions.md): with three or fewer examples, small
 * trees (depth 4, 60 of them at rate 0.1) fit the disease rather than the examples' particulars, and the mirror
 * difference (a tumour is rarely symmetric) is the feature that separates tumour from the bright tissue any brain has.
 */
export const DEFAULT_CLASSIFIER: ClassifierOptions = {
  boosting: { ...DEFAULT_BOOSTING, trees: 60, maxDepth: 4, learningRate: 0.1 },
  samplesPerExample: 24_000,
  ringShare: 0.5,
  ringMm: 6,
  smoothMm: 1,
  thresholds: [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95],
  seed: 1,
  mirror: true,
  edgeCapMm: Infinity,
};

export interface LesionSegmentation {
  /** 0/1 on the target's full grid. */
  mask: Uint8Array;
  rule: CleanupRule;
  /** Mean Dice of the rule on the examples held out of their own fit (null with one example). */
  heldOutDice: number | null;
  /** Voxels the classifier was fitted on, per example (lesion, other). */
  samples: { lesion: number; other: number }[];
  seconds: { features: number; fit: number; validate: number; predict: number };
}

export type LesionProgress = (fraction: number, message: string) => void;

interface Prepared {
  features: FeatureSet;
  truth: Uint8Array;
  truthElsewhere: number;
  voxelMm3: number;
  /** Rows drawn for fitting (indices into features' rows) and their targets. */
  sample: Int32Array;
  target: Uint8Array;
}

/**
 * The classical in-context lesion method: gradient-boosted trees fitted at run time on the examples' voxels
 * (features.ts), a cleanup rule (threshold, component rule, minimum size) chosen by fitting on all examples but one
 * and scoring the one left out, in turn; then the fit on all examples applied to the target.
 */
export function segmentLesionsByClassifier(
  target: LesionImage,
  examples: LesionExample[],
  options: Partial<ClassifierOptions> = {},
  progress: LesionProgress = () => {},
): LesionSegmentation {
  const o = { ...DEFAULT_CLASSIFIER, ...options, boosting: { ...DEFAULT_CLASSIFIER.boosting, ...options.boosting } };
  if (examples.length === 0) throw new Error('the lesion classifier needs at least one example pair');
  const channels = target.channels.length;
  for (const e of examples)
    if (e.image.channels.length !== channels) throw new Error(`every example needs the target's ${channels} channel(s), one has ${e.image.channels.length}`);
  const rnd = seededRandom(o.seed);
  const t0 = performance.now();
  const prepared: Prepared[] = examples.map((e, i) => {
    progress((0.3 * i) / examples.length, `features of example ${i + 1}/${examples.length}`);
    return prepare(e, o, rnd);
  });
  progress(0.3, 'features of the target');
  const targetFeatures = lesionFeatures(target, { mirror: o.mirror, edgeCapMm: o.edgeCapMm });
  const tFeatures = performance.now();

  // Bins from the drawn rows of every example: the same quantisation for fitting, validation and the target.
  const width = targetFeatures.width;
  const drawn = prepared.reduce((a, p) => a + p.sample.length, 0);
  const pooled = new Float32Array(drawn * width);
  let at = 0;
  for (const p of prepared)
    for (const r of p.sample) {
      pooled.set(p.features.values.subarray(r * width, (r + 1) * width), at * width);
      at++;
    }
  const edges = binEdges(pooled, width, o.boosting.bins ?? DEFAULT_BOOSTING.bins);
  const xAll = quantise(pooled, width, edges);
  const yAll = new Uint8Array(drawn);
  const owner = new Int32Array(drawn);
  at = 0;
  prepared.forEach((p, i) => {
    yAll.set(p.target, at);
    owner.fill(i, at, at + p.sample.length);
    at += p.sample.length;
  });

  let rule: CleanupRule;
  let heldOutDice: number | null = null;
  const tFit0 = performance.now();
  let fitSeconds = 0;
  const sizes = exampleLesionSizes(prepared.map((p) => ({ truth: p.truth, dims: p.features.crop.dims, voxelMm3: p.voxelMm3 })));
  if (prepared.length >= 2) {
    const scored: ScoredCase[] = [];
    prepared.forEach((p, i) => {
      progress(0.35 + (0.45 * i) / prepared.length, `checking on example ${i + 1} (fitted on the others)`);
      const keep = [];
      for (let r = 0; r < drawn; r++) if (owner[r] !== i) keep.push(r);
      const { x, y } = subset(xAll, yAll, width, keep);
      const tf = performance.now();
      const model = fitBoostedTrees(x, y, width, o.boosting, true);
      fitSeconds += (performance.now() - tf) / 1000;
      const score = scoreMap(p.features, predictBoostedTrees(model, p.features.values, edges), o.smoothMm);
      scored.push({ score, dims: p.features.crop.dims, truth: p.truth, truthElsewhere: p.truthElsewhere, voxelMm3: p.voxelMm3 });
    });
    const chosen = chooseCleanup(scored, o.thresholds, sizes);
    rule = chosen.rule;
    heldOutDice = chosen.dice;
  } else {
    rule = { threshold: 0.5, keep: 'all', minMm3: sizes[0] ?? 0 };
  }
  const tValidate = performance.now();
  progress(0.85, 'fitting on all examples');
  const model = fitBoostedTrees(xAll, yAll, width, o.boosting, true);
  const tFit = performance.now();
  progress(0.92, 'classifying the target');
  const score = scoreMap(targetFeatures, predictBoostedTrees(model, targetFeatures.values, edges), o.smoothMm);
  const mask = uncropMask(applyCleanup(score, targetFeatures.crop.dims, rule, voxelMm3(target.spacing)), target.dims, targetFeatures.crop);
  const tEnd = performance.now();
  return {
    mask,
    rule,
    heldOutDice,
    samples: prepared.map((p) => {
      let lesion = 0;
      for (const y of p.target) lesion += y;
      return { lesion, other: p.target.length - lesion };
    }),
    seconds: {
      features: (tFeatures - t0) / 1000,
      fit: fitSeconds + (tFit - tValidate) / 1000,
      validate: (tValidate - tFit0) / 1000 - fitSeconds,
      predict: (tEnd - tFit) / 1000,
    },
  };
}

export function voxelMm3(spacing: readonly number[]): number {
  return (spacing[0] || 1) * (spacing[1] || 1) * (spacing[2] || 1);
}

/** Features of one example and a class-balanced draw of its brain voxels: lesion, its border ring, elsewhere. */
function prepare(e: LesionExample, o: ClassifierOptions, rnd: () => number): Prepared {
  const features = lesionFeatures(e.image, { mirror: o.mirror, edgeCapMm: o.edgeCapMm });
  const { crop, rows, brain } = features;
  const truth = cropArray(e.label, e.image.dims, crop, Uint8Array);
  for (let i = 0; i < truth.length; i++) truth[i] = truth[i] !== 0 ? 1 : 0;
  let total = 0;
  for (let i = 0; i < e.label.length; i++) if (e.label[i] !== 0) total++;
  let inside = 0;
  for (let i = 0; i < truth.length; i++) inside += truth[i];
  // Distance to the nearest lesion voxel: the "outside" of the non-lesion mask.
  const notLesion = new Uint8Array(truth.length);
  for (let i = 0; i < truth.length; i++) notLesion[i] = truth[i] ? 0 : 1;
  const toLesion = inside > 0 ? distanceToOutside(notLesion, crop.dims, e.image.spacing) : null;
  const lesion: number[] = [];
  const ring: number[] = [];
  const other: number[] = [];
  for (let r = 0; r < rows.length; r++) {
    const v = rows[r];
    if (!brain[v]) continue;
    if (truth[v]) lesion.push(r);
    else if (toLesion && toLesion[v] <= o.ringMm) ring.push(r);
    else other.push(r);
  }
  const half = Math.floor(o.samplesPerExample / 2);
  const pos = draw(lesion, half, rnd);
  const nRing = Math.min(ring.length, Math.round(half * o.ringShare));
  const neg = [...draw(ring, nRing, rnd), ...draw(other, half - nRing, rnd)];
  const sample = Int32Array.from([...pos, ...neg]);
  const target = new Uint8Array(sample.length);
  target.fill(1, 0, pos.length);
  return { features, truth, truthElsewhere: total - inside, voxelMm3: voxelMm3(e.image.spacing), sample, target };
}

/** Up to `k` distinct items, uniformly (partial Fisher–Yates on a copy). */
function draw(items: number[], k: number, rnd: () => number): number[] {
  if (k >= items.length) return items.slice();
  const a = items.slice();
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rnd() * (a.length - i));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, k);
}

function subset(x: Uint8Array, y: Uint8Array, width: number, keep: number[]): { x: Uint8Array; y: Uint8Array } {
  const xs = new Uint8Array(keep.length * width);
  const ys = new Uint8Array(keep.length);
  keep.forEach((r, i) => {
    xs.set(x.subarray(r * width, (r + 1) * width), i * width);
    ys[i] = y[r];
  });
  return { x: xs, y: ys };
}

/** Per-row probabilities as a map on the crop grid (0 outside the brain), smoothed inside the brain. */
function scoreMap(f: FeatureSet, p: Float32Array, smoothMm: number): Float32Array {
  const map = new Float32Array(f.brain.length);
  for (let r = 0; r < f.rows.length; r++) map[f.rows[r]] = p[r];
  if (!(smoothMm > 0)) return map;
  const w = new Float32Array(f.brain.length);
  for (let i = 0; i < w.length; i++) w[i] = f.brain[i];
  const sm = gaussian(map, f.crop.dims, f.spacing, smoothMm);
  const sw = gaussian(w, f.crop.dims, f.spacing, smoothMm);
  for (let i = 0; i < sm.length; i++) sm[i] = f.brain[i] && sw[i] > 1e-6 ? sm[i] / sw[i] : 0;
  return sm;
}
