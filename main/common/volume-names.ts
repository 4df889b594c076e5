/**
 * How each volume of a series that makes several is told apart in a list (the series picker, a batch scan's name):
 * what its name adds to the names' common start. dcm2niix names them `<number>_<protocol>` plus a suffix per split
 * (`_e2` for an echo, `_ph` for phase, `_ADC`), so the suffix is what the user needs; a name that adds nothing is
 * shown whole. The common start is cut back to a `_` so that "…_e1" and "…_e2" read "e1" and "e2", not "1" and "2".
 */
export function volumeShortNames(names: string[]): string[] {
  if (names.length < 2) return names;
  let n = 0;
  while (names.every((x) => n < x.length && x[n] === names[0][n])) n++;
  if (!names.every((x) => x.length === n || x[n] === '_')) n = names[0].lastIndexOf('_', n - 1) + 1;
  return names.map((x) => x.slice(n).replace(/^_+/, '') || x);
}
