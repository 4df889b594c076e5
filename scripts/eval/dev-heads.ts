/** What the dev-head scripts (eval-freesurfer, eval-context-choice) share: the structures scored and Dice. */
import { readNifti } from '../../main/imaging/index.js';

export const STRUCTURES: Record<string, number[]> = {
  cortex: [3, 42],
  hippocampus: [17, 53],
  thalamus: [10, 49],
  'lateral ventricle': [4, 43],
  putamen: [12, 51],
  amygdala: [18, 54],
};

/** Dice of a 0/1 result against the union of `labels` in a FreeSurfer aseg. */
export async function dice(resultFile: string, truthFile: string, labels: number[]): Promise<number> {
  const [r, t] = [await readNifti(resultFile), await readNifti(truthFile)];
  const want = new Set(labels);
  let a = 0;
  let b = 0;
  let ab = 0;
  for (let i = 0; i < t.data.length; i++) {
    const x = want.has(t.data[i] * t.slope + t.intercept);
    const y = r.data[i] > 0;
    if (x) a++;
    if (y) b++;
    if (x && y) ab++;
  }
  return a + b === 0 ? 1 : (2 * ab) / (a + b);
}
