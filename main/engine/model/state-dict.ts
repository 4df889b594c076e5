/** One named weight tensor, always converted to float32 for graph building. */
export interface WeightTensor {
  dims: number[];
  data: Float32Array;
}

/** Weights keyed as in the official Neuroverse3D module (`context_unet...`), without Lightning's `net.` prefix. */
export type StateDict = Map<string, WeightTensor>;

/**
 * Lightning checkpoints prefix every key with the LightningModule attribute (`net.`); a bare module's
 * state_dict and our safetensors do not. Either form is accepted, the result is always bare.
 */
export function stripNetPrefix<T>(sd: Map<string, T>): Map<string, T> {
  const all = [...sd.keys()];
  if (all.length === 0 || !all.every((k) => k.startsWith('net.'))) return sd;
  return new Map([...sd].map(([k, v]) => [k.slice(4), v]));
}
