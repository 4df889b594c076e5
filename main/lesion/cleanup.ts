import { connectedComponents, largestComponent, type Connectivity } from '../imaging/components.js';
import { fillHoles } from './brain-mask.js';
import type { Dims } from './filters.js';

/** Lesions are 26-connected components (corner-touching voxels are one lesion), as in lesion counts (export/lesion-stats.ts). */
export const LESION_CONNECTIVITY: Connectivity = 26;

/**
 * How a score map becomes a mask: voxels above `threshold`, then either the largest connected component only
 * (a single mass: a glioma) or every component of at least `minMm3` (MS plaques). Both are learned from the
 * examples; an empty mask is a valid answer.
 */
export interface CleanupRule {
  threshold: number;
  keep: 'largest' | 'all';
  /** Smallest component kept, mm³ (with keep "all"). */
  minMm3: number;
  /**
   * Fill the kept components' holes (what the outside cannot reach): a glioma's whole-tumour mask is solid, while
   * its necrotic core is dark on FLAIR. Chosen on the held-out examples like the rest.
   */
  fill?: boolean;
}

/** A score map on some grid with the truth it should reproduce (an example pair held out of its own fit). */
export interface ScoredCase {
  score: Float32Array;
  dims: Dims;
  truth: Uint8Array;
  /** Truth voxels off the scored grid (outside the brain's box): misses whatever the rule. */
  truthElsewhere: number;
  voxelMm3: number;
}

export function applyCleanup(score: Float32Array, dims: Dims, rule: CleanupRule, voxelMm3: number): Uint8Array {
  const above = new Uint8Array(score.length);
  for (let i = 0; i < score.length; i++) above[i] = score[i] > rule.threshold ? 1 : 0;
  const c = connectedComponents(above, dims, LESION_CONNECTIVITY);
  const keep = new Uint8Array(c.count + 1);
  if (rule.keep === 'largest') keep[largestComponent(c)] = 1;
  else for (let k = 1; k <= c.count; k++) keep[k] = c.sizes[k] * voxelMm3 >= rule.minMm3 ? 1 : 0;
  keep[0] = 0;
  const out = new Uint8Array(score.length);
  for (let i = 0; i < out.length; i++) out[i] = keep[c.labels[i]];
  if (rule.fill) fillHoles(out, dims);
  return out;
}

/** Sizes (mm³) of every lesion of the examples, smallest first: where the candidate minimum sizes come from. */
export function exampleLesionSizes(cases: { truth: Uint8Array; dims: Dims; voxelMm3: number }[]): number[] {
  const sizes: number[] = [];
  for (const c of cases) {
    const cc = connectedComponents(c.truth, c.dims, LESION_CONNECTIVITY);
    for (let k = 1; k <= cc.count; k++) sizes.push(cc.sizes[k] * c.voxelMm3);
  }
  return sizes.sort((a, b) => a - b);
}

/**
 * The rule with the best mean Dice over the held-out cases, among the given thresholds × (largest component, or
 * all components above each candidate minimum size). Candidate minimum sizes are 0 and the examples' smallest
 * lesions (smallest, 10th, 25th percentile of their sizes); ties keep the earlier, simpler rule.
 */
export function chooseCleanup(
  cases: ScoredCase[],
  thresholds: readonly number[],
  lesionSizesMm3: readonly number[],
  tryFill = true,
): { rule: CleanupRule; dice: number } {
  const q = (p: number) => lesionSizesMm3[Math.min(lesionSizesMm3.length - 1, Math.floor(p * lesionSizesMm3.length))];
  const minima = [...new Set([0, ...(lesionSizesMm3.length ? [q(0), q(0.1), q(0.25)] : [])])].sort((a, b) => a - b);
  const rules: Omit<CleanupRule, 'threshold'>[] = [{ keep: 'largest', minMm3: 0 }, ...minima.map((m) => ({ keep: 'all' as const, minMm3: m }))];
  const total = new Float64Array(thresholds.length * rules.length);
  for (const sc of cases) {
    let truthCount = sc.truthElsewhere;
    for (let i = 0; i < sc.truth.length; i++) truthCount += sc.truth[i];
    thresholds.forEach((t, ti) => {
      const above = new Uint8Array(sc.score.length);
      for (let i = 0; i < above.length; i++) above[i] = sc.score[i] > t ? 1 : 0;
      const c = connectedComponents(above, sc.dims, LESION_CONNECTIVITY);
      const overlap = new Float64Array(c.count + 1);
      for (let i = 0; i < above.length; i++) if (sc.truth[i]) overlap[c.labels[i]]++;
      const big = largestComponent(c);
      rules.forEach((r, ri) => {
        let kept = 0;
        let hit = 0;
        if (r.keep === 'largest') {
          if (big) [kept, hit] = [c.sizes[big], overlap[big]];
        } else {
          for (let k = 1; k <= c.count; k++)
            if (c.sizes[k] * sc.voxelMm3 >= r.minMm3) {
              kept += c.sizes[k];
              hit += overlap[k];
            }
        }
        const dice = kept + truthCount === 0 ? 1 : (2 * hit) / (kept + truthCount);
        total[ti * rules.length + ri] += dice;
      });
    });
  }
  let best = 0;
  for (let i = 1; i < total.length; i++) if (total[i] > total[best] + 1e-9) best = i;
  const ti = Math.floor(best / rules.length);
  const rule: CleanupRule = { threshold: thresholds[ti], ...rules[best % rules.length] };
  const dice = total[best] / Math.max(1, cases.length);
  // Filling holes, tried on the best rule only (it needs the whole mask, not just component tallies).
  if (!tryFill) return { rule, dice };
  let filled = 0;
  for (const sc of cases) filled += diceOf(applyCleanup(sc.score, sc.dims, { ...rule, fill: true }, sc.voxelMm3), sc);
  filled /= Math.max(1, cases.length);
  return filled > dice + 1e-9 ? { rule: { ...rule, fill: true }, dice: filled } : { rule, dice };
}

function diceOf(mask: Uint8Array, sc: ScoredCase): number {
  let a = 0;
  let b = sc.truthElsewhere;
  let ab = 0;
  for (let i = 0; i < mask.length; i++) {
    a += mask[i];
    b += sc.truth[i];
    ab += mask[i] & sc.truth[i];
  }
  return a + b === 0 ? 1 : (2 * ab) / (a + b);
}
