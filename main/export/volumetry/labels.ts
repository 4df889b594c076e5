/**
 * FreeSurfer aseg label values (FreeSurferColorLUT.txt) of the structures a volumetry report names, and which
 * of them form left/right pairs. Kept in one small module so that a shared label-name table can replace it.
 */

export type Side = 'left' | 'right';

export interface AsegStructure {
  /** Name without side ("Hippocampus"). */
  structure: string;
  left?: number;
  right?: number;
  /** A structure on the midline (brain stem, third ventricle...): one value, no side. */
  midline?: number;
}

export const ASEG_STRUCTURES: readonly AsegStructure[] = [
  { structure: 'Cerebral-White-Matter', left: 2, right: 41 },
  { structure: 'Cerebral-Cortex', left: 3, right: 42 },
  { structure: 'Lateral-Ventricle', left: 4, right: 43 },
  { structure: 'Inf-Lat-Vent', left: 5, right: 44 },
  { structure: 'Cerebellum-White-Matter', left: 7, right: 46 },
  { structure: 'Cerebellum-Cortex', left: 8, right: 47 },
  { structure: 'Thalamus', left: 10, right: 49 },
  { structure: 'Caudate', left: 11, right: 50 },
  { structure: 'Putamen', left: 12, right: 51 },
  { structure: 'Pallidum', left: 13, right: 52 },
  { structure: 'Hippocampus', left: 17, right: 53 },
  { structure: 'Amygdala', left: 18, right: 54 },
  { structure: 'Accumbens-area', left: 26, right: 58 },
  { structure: 'VentralDC', left: 28, right: 60 },
  { structure: 'choroid-plexus', left: 31, right: 63 },
  { structure: '3rd-Ventricle', midline: 14 },
  { structure: '4th-Ventricle', midline: 15 },
  { structure: 'Brain-Stem', midline: 16 },
  { structure: 'CSF', midline: 24 },
];

export interface LabelName {
  /** Display name, FreeSurfer style ("Left-Hippocampus"). */
  name: string;
  structure: string;
  side?: Side;
}

const BY_VALUE = new Map<number, LabelName>(
  ASEG_STRUCTURES.flatMap((s) => {
    const out: [number, LabelName][] = [];
    if (s.left !== undefined) out.push([s.left, { name: `Left-${s.structure}`, structure: s.structure, side: 'left' }]);
    if (s.right !== undefined) out.push([s.right, { name: `Right-${s.structure}`, structure: s.structure, side: 'right' }]);
    if (s.midline !== undefined) out.push([s.midline, { name: s.structure, structure: s.structure }]);
    return out;
  }),
);

/** The aseg name of a label value, or undefined when it is not one of the structures above. */
export function asegName(value: number): LabelName | undefined {
  return BY_VALUE.get(value);
}

/** A structure's name given by the user ("Left-Hippocampus", "right thalamus"): its side and base structure. */
export function parseStructureName(name: string): LabelName {
  const m = /^\s*(left|right|lh|rh|l|r)[-_ ]+(.+?)\s*$/i.exec(name);
  if (!m) return { name, structure: name.trim() };
  const side: Side = /^(left|lh|l)$/i.test(m[1]) ? 'left' : 'right';
  const base = m[2];
  const known = ASEG_STRUCTURES.find((s) => s.structure.toLowerCase() === base.toLowerCase().replace(/[ _]+/g, '-'));
  return { name, structure: known?.structure ?? base, side };
}
