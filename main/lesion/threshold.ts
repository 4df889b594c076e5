import { applyCleanup, chooseCleanup, exampleLesionSizes, type CleanupRule, type ScoredCase } from './cleanup.js';
import { voxelMm3, type LesionExample } from './classifier.js';
import { brainCrop, cropArray, normalised, uncropMask, type LesionImage } from './features.js';

/** Thresholds scanned first, in normalised units ((x − median) / IQR inside the brain). */
const COARSE = Array.from({ length: 161 }, (_, i) => i * 0.1 - 1);
/** Then, around the best of those, the cleanup is chosen among these offsets. */
const REFINE = [-0.6, -0.4, -0.2, 0, 0.2, 0.4, 0.6];

export interface ThresholdSegmentation {
  mask: Uint8Array;
  rule: CleanupRule;
  /** Mean Dice of the rule on the examples (fitted on them: one threshold and a component rule). */
  exampleDice: number;
  seconds: number;
}

/**
 * The classical baseline every lesion method must beat (the lesion data's README): the intensity threshold of the
 * first channel (FLAIR), normalised per image, that fits the examples' masks best inside the brain, then the
 * connected-component rule (largest only, or all above a minimum size) that fits them best.
 */
export function segmentLesionsByThreshold(target: LesionImage, examples: LesionExample[]): ThresholdSegmentation {
  const t0 = performance.now();
  if (examples.length === 0) throw new Error('the threshold baseline needs at least one example pair');
  const cases: ScoredCase[] = examples.map((e) => {
    const { score, crop } = zMap(e.image);
    const truth = cropArray(e.label, e.image.dims, crop, Uint8Array);
    let inside = 0;
    for (let i = 0; i < truth.length; i++) inside += truth[i] = truth[i] !== 0 ? 1 : 0;
    let total = 0;
    for (let i = 0; i < e.label.length; i++) if (e.label[i] !== 0) total++;
    return { score, dims: crop.dims, truth, truthElsewhere: total - inside, voxelMm3: voxelMm3(e.image.spacing) };
  });
  // Dice of every coarse threshold without cleanup, from two cumulative histograms per example.
  const dice = new Float64Array(COARSE.length);
  for (const c of cases) {
    const above = new Float64Array(COARSE.length + 1);
    const hit = new Float64Array(COARSE.length + 1);
    let truthCount = c.truthElsewhere;
    for (let i = 0; i < c.score.length; i++) {
      if (c.truth[i]) truthCount++;
      const s = c.score[i];
      if (s === -Infinity) continue;
      const b = Math.min(COARSE.length, Math.max(0, Math.ceil((s - COARSE[0]) / 0.1 - 1e-9)));
      // Above threshold t_k when s > t_k: counted in every bin k < b.
      above[b]++;
      if (c.truth[i]) hit[b]++;
    }
    let a = 0;
    let h = 0;
    for (let k = COARSE.length - 1; k >= 0; k--) {
      a += above[k + 1];
      h += hit[k + 1];
      dice[k] += a + truthCount === 0 ? 1 : (2 * h) / (a + truthCount);
    }
  }
  let top = 0;
  for (let k = 1; k < dice.length; k++) if (dice[k] > dice[top]) top = k;
  // The middle of the thresholds that fit equally well: the widest margin on both sides, not the lowest.
  const plateau = [];
  for (let k = 0; k < dice.length; k++) if (dice[k] >= dice[top] - 1e-6) plateau.push(k);
  const best = plateau[Math.floor(plateau.length / 2)];
  const candidates = REFINE.map((d) => COARSE[best] + d);
  // No hole filling: the baseline stays what the lesion data's README describes.
  const { rule, dice: exampleDice } = chooseCleanup(cases, candidates, exampleLesionSizes(cases), false);
  const { score, crop } = zMap(target);
  const mask = uncropMask(applyCleanup(score, crop.dims, rule, voxelMm3(target.spacing)), target.dims, crop);
  return { mask, rule, exampleDice, seconds: (performance.now() - t0) / 1000 };
}

/** The first channel normalised inside the brain, −∞ outside it, on the brain's crop. */
function zMap(image: LesionImage) {
  const { brain, crop } = brainCrop(image);
  const score = normalised(cropArray(image.channels[0], image.dims, crop, Float32Array), brain);
  for (let i = 0; i < score.length; i++) if (!brain[i]) score[i] = -Infinity;
  return { score, crop };
}
