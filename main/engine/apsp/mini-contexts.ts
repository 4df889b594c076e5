/**
 * Context partition (paper §3.1): indices of the L pairs split into n = ⌈L/l⌉ disjoint mini-contexts of
 * size l, the last one shorter when l does not divide L. `order` (a permutation of 0..L-1) lets callers
 * shuffle which pairs share a mini-context; the result does not depend on it.
 */
export function partitionContext(L: number, l: number, order?: readonly number[]): number[][] {
  if (!Number.isInteger(L) || L < 1) throw new Error(`context size must be a positive integer (got ${L})`);
  if (!Number.isInteger(l) || l < 1) throw new Error(`mini-context size must be a positive integer (got ${l})`);
  const idx = order ? [...order] : Array.from({ length: L }, (_, i) => i);
  if (idx.length !== L || new Set(idx).size !== L || idx.some((i) => i < 0 || i >= L || !Number.isInteger(i))) {
    throw new Error('partitionContext: order must be a permutation of 0..L-1');
  }
  const chunks: number[][] = [];
  for (let s = 0; s < L; s += l) chunks.push(idx.slice(s, s + l));
  return chunks;
}
