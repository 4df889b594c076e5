/**
 * A per-voxel test on stored values, asked once per possible value instead of once per voxel: for 8- and 16-bit
 * arrays (most scans and label maps) a 256- or 65536-entry table of its answers replaces a call per voxel.
 */
/** `test`'s answer for every value an 8- or 16-bit integer array can hold (index: value + offset); null for other arrays. */
export function answerTable(values: ArrayLike<number>, test: (v: number) => boolean): { answers: Uint8Array; offset: number } | null {
  const range = integerRange(values);
  if (!range) return null;
  const answers = new Uint8Array(range[1] - range[0] + 1);
  for (let v = range[0]; v <= range[1]; v++) answers[v - range[0]] = test(v) ? 1 : 0;
  return { answers, offset: -range[0] };
}

/** `map`'s value for every value an 8- or 16-bit integer array can hold (index: value + offset); null for other arrays. */
export function valueTable(values: ArrayLike<number>, map: (v: number) => number): { table: Float64Array; offset: number } | null {
  const range = integerRange(values);
  if (!range) return null;
  const table = new Float64Array(range[1] - range[0] + 1);
  for (let v = range[0]; v <= range[1]; v++) table[v - range[0]] = map(v);
  return { table, offset: -range[0] };
}

function integerRange(values: ArrayLike<number>): [number, number] | null {
  return values instanceof Uint8Array || values instanceof Uint8ClampedArray
    ? [0, 255]
    : values instanceof Int8Array
      ? [-128, 127]
      : values instanceof Uint16Array
        ? [0, 65535]
        : values instanceof Int16Array
          ? [-32768, 32767]
          : null;
}
