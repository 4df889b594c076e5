/**
 * FreeSurfer aseg label values and their names (as in FreeSurfer's colour table), and the structures a
 * user names without a side ("hippocampus" = left and right). The one table for the CLI's --structure,
 * the Run panel's structure list and the report's names.
 */
export const ASEG_NAMES: Readonly<Record<number, string>> = {
  2: 'Left-Cerebral-White-Matter',
  3: 'Left-Cerebral-Cortex',
  4: 'Left-Lateral-Ventricle',
  5: 'Left-Inf-Lat-Vent',
  7: 'Left-Cerebellum-White-Matter',
  8: 'Left-Cerebellum-Cortex',
  10: 'Left-Thalamus',
  11: 'Left-Caudate',
  12: 'Left-Putamen',
  13: 'Left-Pallidum',
  14: '3rd-Ventricle',
  15: '4th-Ventricle',
  16: 'Brain-Stem',
  17: 'Left-Hippocampus',
  18: 'Left-Amygdala',
  24: 'CSF',
  25: 'Left-Lesion',
  26: 'Left-Accumbens-area',
  28: 'Left-VentralDC',
  30: 'Left-vessel',
  31: 'Left-choroid-plexus',
  41: 'Right-Cerebral-White-Matter',
  42: 'Right-Cerebral-Cortex',
  43: 'Right-Lateral-Ventricle',
  44: 'Right-Inf-Lat-Vent',
  46: 'Right-Cerebellum-White-Matter',
  47: 'Right-Cerebellum-Cortex',
  49: 'Right-Thalamus',
  50: 'Right-Caudate',
  51: 'Right-Putamen',
  52: 'Right-Pallidum',
  53: 'Right-Hippocampus',
  54: 'Right-Amygdala',
  57: 'Right-Lesion',
  58: 'Right-Accumbens-area',
  60: 'Right-VentralDC',
  62: 'Right-vessel',
  63: 'Right-choroid-plexus',
  72: '5th-Ventricle',
  77: 'WM-hypointensities',
  85: 'Optic-Chiasm',
  251: 'CC_Posterior',
  252: 'CC_Mid_Posterior',
  253: 'CC_Central',
  254: 'CC_Mid_Anterior',
  255: 'CC_Anterior',
};

/** A structure as the user names it: both sides where the aseg has two, in the order the Run panel lists them. */
export interface NamedStructure {
  name: string;
  labels: number[];
}

export const ASEG_STRUCTURES: readonly NamedStructure[] = [
  { name: 'hippocampus', labels: [17, 53] },
  { name: 'thalamus', labels: [10, 49] },
  { name: 'lateral ventricle', labels: [4, 43] },
  { name: 'putamen', labels: [12, 51] },
  { name: 'caudate', labels: [11, 50] },
  { name: 'pallidum', labels: [13, 52] },
  { name: 'amygdala', labels: [18, 54] },
  { name: 'accumbens area', labels: [26, 58] },
  { name: 'ventral DC', labels: [28, 60] },
  { name: 'cerebral cortex', labels: [3, 42] },
  { name: 'cerebral white matter', labels: [2, 41] },
  { name: 'cerebellum cortex', labels: [8, 47] },
  { name: 'cerebellum white matter', labels: [7, 46] },
  { name: 'inferior lateral ventricle', labels: [5, 44] },
  { name: 'choroid plexus', labels: [31, 63] },
  { name: 'vessel', labels: [30, 62] },
  { name: '3rd ventricle', labels: [14] },
  { name: '4th ventricle', labels: [15] },
  { name: 'brain stem', labels: [16] },
  { name: 'CSF', labels: [24] },
  { name: 'corpus callosum', labels: [251, 252, 253, 254, 255] },
];

/** Other words users write for the same structures. */
const ALIASES: Record<string, string> = {
  cortex: 'cerebral cortex',
  'white matter': 'cerebral white matter',
  ventricle: 'lateral ventricle',
  ventricles: 'lateral ventricle',
  'lateral ventricles': 'lateral ventricle',
  brainstem: 'brain stem',
  accumbens: 'accumbens area',
  'thalamus proper': 'thalamus',
};

/** Case, hyphens, underscores and spaces do not matter: "Left-Hippocampus" = "left hippocampus". */
const key = (s: string) =>
  s
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, ' ');

const byKey = new Map<string, NamedStructure>();
for (const s of ASEG_STRUCTURES) byKey.set(key(s.name), s);
for (const [alias, name] of Object.entries(ALIASES)) byKey.set(key(alias), byKey.get(key(name))!);
for (const [v, name] of Object.entries(ASEG_NAMES)) byKey.set(key(name), { name: key(name), labels: [Number(v)] });
// "left hippocampus" and "right thalamus" for every two-sided structure.
for (const s of ASEG_STRUCTURES) {
  if (s.labels.length !== 2) continue;
  byKey.set(key(`left ${s.name}`), { name: `left ${s.name}`, labels: [s.labels[0]] });
  byKey.set(key(`right ${s.name}`), { name: `right ${s.name}`, labels: [s.labels[1]] });
}
byKey.set(key('Left-Thalamus-Proper'), { name: 'left thalamus', labels: [10] });
byKey.set(key('Right-Thalamus-Proper'), { name: 'right thalamus', labels: [49] });

/** The structure a name stands for (both sides without "left"/"right"), or undefined when the table has no such name. */
export function asegStructure(name: string): NamedStructure | undefined {
  const s = byKey.get(key(name));
  return s ? { name: s.name, labels: [...s.labels] } : undefined;
}

/** The aseg name of a label value, e.g. 17 → "Left-Hippocampus"; undefined for values outside the table. */
export function asegName(value: number): string | undefined {
  return ASEG_NAMES[value];
}

/** The structures (both sides as one) whose every label value occurs among `values`, in the table's order. */
export function structuresIn(values: readonly number[]): NamedStructure[] {
  const have = new Set(values);
  return ASEG_STRUCTURES.filter((s) => s.labels.every((v) => have.has(v))).map((s) => ({ name: s.name, labels: [...s.labels] }));
}
