import { InputError } from '../../common/errors.js';
/** Weights or, before they are loaded, only their shapes: the architecture is checked on either. */
export type ShapeDict = ReadonlyMap<string, { dims: number[] }>;

/** What determines the graph topology: the per-stage channel widths (official: 32, 64, 128, 256, 512). */
export interface Architecture {
  name: 'neuroverse3d';
  channels: number[];
}

export const OFFICIAL_CHANNELS = [32, 64, 128, 256, 512];

/**
 * Every state-dict key and shape the layout of architecture doc §1.3-1.4 implies for `channels`.
 * The `.module` components are the official Vmap wrappers; keeping them lets the official checkpoint load as is.
 */
export function expectedShapes(channels: number[]): Map<string, number[]> {
  const C = channels;
  const S = C.length;
  const m = new Map<string, number[]>();
  const conv = (key: string, co: number, ci: number, k: number) => {
    m.set(`${key}.weight`, [co, ci, k, k, k]);
    m.set(`${key}.bias`, [co]);
  };
  const ru = (key: string, c: number) => {
    conv(`${key}.layers.0`, c, c, 3);
    conv(`${key}.layers.2`, c, c, 3);
  };
  conv('context_unet.context_embedding.module', C[0], 2, 1);
  for (let r = 0; r < S; r++) {
    ru(`context_unet.enc_blocks.${r}.context_conv.module`, C[r]);
    if (r < S - 1) conv(`context_unet.enc_blocks.${r}.combine_conv_context.module`, C[r], 2 * C[r], 1);
  }
  for (let r = 0; r < S - 1; r++) conv(`context_unet.downsample_blocks.${r}.context_linear_layer.module`, C[r + 1], C[r], 4);
  for (let k = 0; k < S - 1; k++) ru(`context_unet.dec_blocks.${k}.context_conv.module`, C[S - 2 - k]);
  for (let k = 0; k < S - 1; k++) {
    const r = S - 2 - k;
    conv(`context_unet.upsample_blocks.${k}.context_conv_layer.module`, C[r], C[r + 1] + C[r], 1);
  }
  conv('target_encoder.target_embedding', C[0], 1, 1);
  for (let r = 0; r < S - 1; r++) ru(`target_encoder.enc_blocks.${r}.target_conv`, C[r]);
  for (let r = 0; r < S - 1; r++) conv(`target_encoder.downsample_blocks.${r}.target_linear_layer`, C[r + 1], C[r], 4);
  ru('target_decoder.enc_blocks.0.target_conv', C[S - 1]);
  conv('target_decoder.enc_blocks.0.combine_conv_target.module', C[S - 1], 2 * C[S - 1], 1);
  for (let k = 0; k < S - 1; k++) {
    const r = S - 2 - k;
    ru(`target_decoder.dec_blocks.${k}.target_conv`, C[r]);
    conv(`target_decoder.dec_blocks.${k}.combine_conv_target.module`, C[r], 2 * C[r], 1);
  }
  for (let k = 0; k < S - 1; k++) {
    const r = S - 2 - k;
    conv(`target_decoder.upsample_blocks.${k}.target_conv_layer`, C[r], C[r + 1] + C[r], 1);
  }
  ru('target_decoder.output_block.block.0', C[0]);
  conv('target_decoder.output_block.block.1', 1, C[0], 1);
  return m;
}

export function parameterCount(channels: number[]): number {
  let n = 0;
  for (const dims of expectedShapes(channels).values()) n += dims.reduce((a, b) => a * b, 1);
  return n;
}

/**
 * Reads the channel widths from the weights themselves (the Lightning hyper_parameters of the official file
 * are not documented), then checks every key and shape so a foreign checkpoint fails with a precise message.
 */
export function inferArchitecture(sd: ShapeDict, file: string): Architecture {
  const emb = sd.get('target_encoder.target_embedding.weight');
  if (!emb) throw new InputError(file, 'not a Neuroverse3D state dict (no target_encoder.target_embedding.weight)');
  const channels = [emb.dims[0]];
  for (let r = 0; ; r++) {
    const w = sd.get(`target_encoder.downsample_blocks.${r}.target_linear_layer.weight`);
    if (!w) break;
    channels.push(w.dims[0]);
  }
  if (channels.length < 2) throw new InputError(file, 'not a Neuroverse3D state dict (no down-sampling stages)');
  checkStateDict(sd, channels, file);
  return { name: 'neuroverse3d', channels };
}

export function checkStateDict(sd: ShapeDict, channels: number[], file: string): void {
  const expected = expectedShapes(channels);
  for (const [key, dims] of expected) {
    const t = sd.get(key);
    if (!t) throw new InputError(file, `missing weight ${key} (channels ${channels.join('-')})`);
    if (t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i])) {
      throw new InputError(file, `weight ${key} has shape [${t.dims.join(', ')}], expected [${dims.join(', ')}]`);
    }
  }
  const extra = [...sd.keys()].filter((k) => !expected.has(k));
  if (extra.length > 0) {
    throw new InputError(file, `unexpected weight ${extra[0]}${extra.length > 1 ? ` (and ${extra.length - 1} more)` : ''}`);
  }
}
