import { GraphBuilder, ints, int } from '../onnx/graph-builder.js';
import type { Dim } from '../onnx/graph-builder.js';
import type { Architecture } from './architecture.js';
import { Layers, splitInputChannelsAt } from './layers.js';
import type { GeluMode } from './layers.js';
import type { StateDict } from './state-dict.js';
import type { CalibrationRanges, ConvMode } from '../quant/int8.js';

/** ONNX opset of every graph: Shape(start,end) needs 15; 17 is what ORT's CUDA/CPU providers cover fully. */
export const OPSET = 17;

/**
 * Tensor names of the three-graph interface (architecture doc §4). Level r counts down-samplings from the
 * input grid; ctx_mean_k follows the official output order (k = 0 is the bottleneck, coarse to fine).
 */
export const io = {
  targetImage: 'target_img',
  contextImages: 'ctx_img',
  contextLabels: 'ctx_lab',
  targetFeature: (r: number) => `f_${r}`,
  targetBottleneck: 't_bottleneck',
  contextMean: (k: number) => `ctx_mean_${k}`,
  prediction: 'pred',
};

/**
 * Symbolic spatial dimensions at level r. Tensors are [B, C, Z, Y, X]: x-fastest buffers, the layout of
 * our Volume (see kernelToZyx). Spatial sizes are dynamic; only the manifest's grid is validated.
 */
function spatial(r: number): Dim[] {
  return r === 0 ? ['z', 'y', 'x'] : [`z_${r}`, `y_${r}`, `x_${r}`];
}

export interface BuiltGraphs {
  targetEncoder: Uint8Array;
  contextBranch: Uint8Array;
  targetDecoder: Uint8Array;
}

/** Graph names: also the keys of calibration ranges (quant/int8.ts). */
export const GRAPH_NAMES = { targetEncoder: 'target_encoder', contextBranch: 'context_branch', targetDecoder: 'target_decoder' } as const;

/**
 * `convs`: plain fp32 graphs (default), probe graphs for calibration, or int8 graphs from calibrated ranges.
 */
export function buildGraphs(
  arch: Architecture,
  sd: StateDict,
  producerVersion = '0.1.0',
  gelu: GeluMode = 'contrib',
  convs: { kind: 'fp32' } | { kind: 'probe' } | { kind: 'int8'; ranges: CalibrationRanges } = { kind: 'fp32' },
): BuiltGraphs {
  const opts = { opset: OPSET, producerVersion };
  const mode = (graph: string): ConvMode => (convs.kind === 'int8' ? { kind: 'int8', ranges: convs.ranges[graph] ?? {} } : convs);
  const doc = (what: string) => `Neuroverse3D ${what}${convs.kind === 'int8' ? ' (int8 convolutions)' : convs.kind === 'probe' ? ' (calibration probes)' : ''}`;
  return {
    targetEncoder: buildTargetEncoder(arch, sd, gelu, mode(GRAPH_NAMES.targetEncoder)).toBytes({ ...opts, docString: doc('target encoder') }),
    contextBranch: buildContextBranch(arch, sd, gelu, mode(GRAPH_NAMES.contextBranch)).toBytes({ ...opts, docString: doc('context branch') }),
    targetDecoder: buildTargetDecoder(arch, sd, gelu, mode(GRAPH_NAMES.targetDecoder)).toBytes({ ...opts, docString: doc('target decoder') }),
  };
}

/** Graph A: target image → features f_0..f_{S-2} (skips and t2c inputs) and the bottleneck input. */
export function buildTargetEncoder(arch: Architecture, sd: StateDict, gelu: GeluMode = 'contrib', convs: ConvMode = { kind: 'fp32' }): GraphBuilder {
  const C = arch.channels;
  const S = C.length;
  const g = new GraphBuilder('target_encoder');
  const L = new Layers(g, sd, gelu, convs);
  g.input(io.targetImage, ['batch', 1, ...spatial(0)]);
  let e = L.conv(io.targetImage, 'target_encoder.target_embedding');
  for (let r = 0; r < S - 1; r++) {
    const f = L.residual(e, `target_encoder.enc_blocks.${r}.target_conv`, io.targetFeature(r));
    g.output(f, ['batch', C[r], ...spatial(r)]);
    const last = r === S - 2;
    e = L.down(f, `target_encoder.downsample_blocks.${r}.target_linear_layer`, last ? io.targetBottleneck : undefined);
  }
  g.output(e, ['batch', C[S - 1], ...spatial(S - 1)]);
  return g;
}

/**
 * Graph B: one mini-context of l pairs → the mean over those pairs of the five context-decoder outputs.
 * Pairs are folded into the batch axis (b-major, as the official Vmap) with shapes taken at run time so
 * l stays dynamic. The t2c combine conv is split into its context and target halves (doc §2.7): the
 * target half is computed once per call and broadcast over the pairs instead of materialising l copies
 * of the target features.
 */
export function buildContextBranch(arch: Architecture, sd: StateDict, gelu: GeluMode = 'contrib', convs: ConvMode = { kind: 'fp32' }): GraphBuilder {
  const C = arch.channels;
  const S = C.length;
  const g = new GraphBuilder('context_branch');
  const L = new Layers(g, sd, gelu, convs);
  g.input(io.contextImages, ['batch', 'pairs', 1, ...spatial(0)]);
  g.input(io.contextLabels, ['batch', 'pairs', 1, ...spatial(0)]);
  for (let r = 0; r < S - 1; r++) g.input(io.targetFeature(r), ['batch', C[r], ...spatial(r)]);

  const pairShape = L.shape(io.contextImages, 0, 2); // [B, l]
  const folded = g.op('Concat', [L.int64s('minus_one', [-1]), L.shape(io.contextImages, 2)], { axis: int(0) });
  const fold = (x: string) => L.reshape(x, folded);
  /** [B·l, c, ...] → [B, l, c, ...] */
  const unfold = (x: string) => L.reshape(x, g.op('Concat', [pairShape, L.shape(x, 1)], { axis: int(0) }));

  let a = L.conv(L.concat([fold(io.contextImages), fold(io.contextLabels)]), 'context_unet.context_embedding.module');
  const skips: string[] = [];
  for (let r = 0; r < S - 1; r++) {
    const u = L.residual(a, `context_unet.enc_blocks.${r}.context_conv.module`);
    const key = `context_unet.enc_blocks.${r}.combine_conv_context.module`;
    const [wc, wt] = splitInputChannelsAt(L.weight(`${key}.weight`), C[r]);
    const fromContext = L.convWith(u, `${key}.context_half`, wc, undefined);
    const fromTarget = L.convWith(io.targetFeature(r), `${key}.target_half`, wt, L.weight(`${key}.bias`));
    const targetPerPair = g.op('Unsqueeze', [fromTarget, L.int64s('axis1', [1])]);
    const fused = L.reshape(L.add(unfold(L.add(u, fromContext)), targetPerPair), L.shape(u));
    const s = L.gelu(fused);
    skips.push(L.setChannels(s, C[r]));
    a = L.down(s, `context_unet.downsample_blocks.${r}.context_linear_layer.module`);
  }
  let h = L.residual(a, `context_unet.enc_blocks.${S - 1}.context_conv.module`);
  const outs = [h];
  for (let k = 0; k < S - 1; k++) {
    const r = S - 2 - k;
    const z = L.upConcatConv(h, skips[r], `context_unet.upsample_blocks.${k}.context_conv_layer.module`);
    h = L.residual(z, `context_unet.dec_blocks.${k}.context_conv.module`);
    outs.push(h);
  }
  outs.forEach((o, k) => {
    const r = S - 1 - k;
    const mean = g.op('ReduceMean', [unfold(o)], { axes: ints([1]), keepdims: int(0) }, io.contextMean(k));
    g.output(mean, ['batch', C[r], ...spatial(r)]);
  });
  return g;
}

/** Graph C: bottleneck + target skips + merged context means → raw prediction (no output activation). */
export function buildTargetDecoder(arch: Architecture, sd: StateDict, gelu: GeluMode = 'contrib', convs: ConvMode = { kind: 'fp32' }): GraphBuilder {
  const C = arch.channels;
  const S = C.length;
  const g = new GraphBuilder('target_decoder');
  const L = new Layers(g, sd, gelu, convs);
  g.input(io.targetBottleneck, ['batch', C[S - 1], ...spatial(S - 1)]);
  for (let r = 0; r < S - 1; r++) g.input(io.targetFeature(r), ['batch', C[r], ...spatial(r)]);
  for (let k = 0; k < S; k++) g.input(io.contextMean(k), ['batch', C[S - 1 - k], ...spatial(S - 1 - k)]);

  // c2t fusion: concatenation order is [context mean, target] and the target tensor is the residual (doc §2.5).
  const c2t = (x: string, block: string, k: number) => {
    const h = L.residual(x, `${block}.target_conv`);
    const w = L.conv(L.concat([io.contextMean(k), h]), `${block}.combine_conv_target.module`);
    return L.gelu(L.add(h, w));
  };
  let h = c2t(io.targetBottleneck, 'target_decoder.enc_blocks.0', 0);
  for (let k = 0; k < S - 1; k++) {
    const r = S - 2 - k;
    h = L.upConcatConv(h, L.setChannels(io.targetFeature(r), C[r]), `target_decoder.upsample_blocks.${k}.target_conv_layer`);
    h = c2t(h, `target_decoder.dec_blocks.${k}`, k + 1);
  }
  h = L.residual(h, 'target_decoder.output_block.block.0');
  const pred = L.conv(h, 'target_decoder.output_block.block.1', { out: io.prediction });
  g.output(pred, ['batch', 1, ...spatial(0)]);
  return g;
}
