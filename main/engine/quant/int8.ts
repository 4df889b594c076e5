/**
 * Int8 quantisation of the model's convolutions (issue 15): weights int8 per output channel (symmetric),
 * activations uint8 per tensor (asymmetric, ranges calibrated on real volumes), written as ONNX
 * QuantizeLinear/DequantizeLinear pairs around each Conv. ONNX Runtime's CPU provider fuses
 * DQ → Conv → Q into QLinearConv (u8s8 kernels); everything else (GELU, additions, resizes, means) stays fp32.
 */

/** Observed range of one activation tensor over the calibration runs. */
export interface ActivationRange {
  min: number;
  max: number;
}

/** Ranges of one convolution's input and output, keyed by the conv's name in its graph. */
export interface ConvRanges {
  input: ActivationRange;
  output: ActivationRange;
}

/** Per graph (its name: target_encoder, context_branch, target_decoder), per conv. */
export type CalibrationRanges = Record<string, Record<string, ConvRanges>>;

/**
 * How the graph builder treats Conv nodes: plain fp32; fp32 with each conv's input and output min/max as
 * extra outputs (calibration); or quantised with calibrated ranges.
 */
export type ConvMode = { kind: 'fp32' } | { kind: 'probe' } | { kind: 'int8'; ranges: Record<string, ConvRanges> };

/** Name of the probe output carrying `stat` of a conv's `side` (only in probe graphs). */
export function probeName(conv: string, side: 'input' | 'output', stat: 'min' | 'max'): string {
  return `probe|${conv}|${side}|${stat}`;
}

export function parseProbeName(name: string): { conv: string; side: 'input' | 'output'; stat: 'min' | 'max' } | null {
  const m = /^probe\|(.+)\|(input|output)\|(min|max)$/.exec(name);
  return m ? { conv: m[1], side: m[2] as 'input' | 'output', stat: m[3] as 'min' | 'max' } : null;
}

/** uint8 affine quantisation of a range widened to hold 0 (so zero padding is exact). */
export function activationParams(r: ActivationRange): { scale: number; zeroPoint: number } {
  const lo = Math.min(0, r.min);
  const hi = Math.max(0, r.max);
  const scale = hi - lo > 1e-12 ? (hi - lo) / 255 : 1;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale: Math.fround(scale), zeroPoint };
}

/**
 * Symmetric int8 per output channel: scale = max|w| / 127, zero point 0. The layout is [co, ...] with the
 * output channel slowest, as ONNX Conv weights are.
 */
export function quantizeWeights(data: Float32Array, outChannels: number): { q: Int8Array; scales: Float32Array } {
  const per = data.length / outChannels;
  const q = new Int8Array(data.length);
  const scales = new Float32Array(outChannels);
  for (let c = 0; c < outChannels; c++) {
    let m = 0;
    for (let i = c * per; i < (c + 1) * per; i++) m = Math.max(m, Math.abs(data[i]));
    const s = m > 0 ? m / 127 : 1;
    scales[c] = s;
    for (let i = c * per; i < (c + 1) * per; i++) q[i] = Math.max(-127, Math.min(127, Math.round(data[i] / scales[c])));
  }
  return { q, scales };
}

/** Bias as int32 in units of input scale × weight scale (what QLinearConv adds to its accumulator). */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: Float32Array): { q: Int32Array; scales: Float32Array } {
  const scales = new Float32Array(bias.length);
  const q = new Int32Array(bias.length);
  for (let c = 0; c < bias.length; c++) {
    scales[c] = inputScale * weightScales[c];
    q[c] = Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(bias[c] / scales[c])));
  }
  return { q, scales };
}

/** Widens `into` by `r` (the running min/max over calibration runs). */
export function mergeRange(into: ActivationRange | undefined, r: ActivationRange): ActivationRange {
  return into ? { min: Math.min(into.min, r.min), max: Math.max(into.max, r.max) } : { ...r };
}
