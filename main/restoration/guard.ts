import { InputError } from '../common/errors.js';
import type { Dims3 } from './nlm.js';

/** One context pair of a restoration task: its input (e.g. noisy) and target (clean) image on one grid. */
export interface ExamplePair {
  name: string;
  read(): Promise<{ input: Float32Array; target: Float32Array; dims: Dims3 }>;
}

/** How a method did on one example: PSNR (dB, inside the head) of the input and of the method's output against the target. */
export interface ExampleScore {
  name: string;
  inputPsnr: number;
  outputPsnr: number;
}

/**
 * The guard of every restoration run: the method applied to each example's input must bring it closer to the
 * example's target than the input itself was. A method that fails it is never the default, and a run whose
 * method fails it is reported (a QC warning), its result not presented as the answer.
 */
export interface GuardVerdict {
  passed: boolean;
  message: string;
}

/** Per-example PSNR of input and output over the scored voxels of the example's pieces (crops or whole heads). */
export function judgeExamples<P extends { example: number; input: Float32Array; target: Float32Array; score: Uint8Array; peak: number }>(
  examples: readonly { name: string }[],
  pieces: readonly P[],
  outputOf: (piece: P, index: number) => Float32Array,
): ExampleScore[] {
  return examples.map((ex, e) => {
    let inErr = 0;
    let outErr = 0;
    let n = 0;
    let peak = 0;
    pieces.forEach((p, j) => {
      if (p.example !== e) return;
      const out = outputOf(p, j);
      peak = p.peak;
      for (let i = 0; i < p.score.length; i++) {
        if (p.score[i] === 0) continue;
        const a = p.input[i] - p.target[i];
        const b = out[i] - p.target[i];
        inErr += a * a;
        outErr += b * b;
        n++;
      }
    });
    const psnr = (err: number) => (n === 0 || err === 0 ? Infinity : 10 * Math.log10((peak * peak) / (err / n)));
    return { name: ex.name, inputPsnr: psnr(inErr), outputPsnr: psnr(outErr) };
  });
}

/** Checks that an example's two images share their grid. */
export function checkExampleGrid(name: string, inputDims: readonly number[], targetDims: readonly number[]): void {
  const a = inputDims.slice(0, 3).join('×');
  const b = targetDims.slice(0, 3).join('×');
  if (a !== b) throw new InputError(name, `the example's input (${a}) and target (${b}) must share one grid`);
}
