/** Plain data of a volumetry result (no Node imports: the API and the renderer type-check against it). */

export type Side = 'left' | 'right';
export type Sex = 'M' | 'F';

/** Age and sex of the patient, and where they came from. */
export interface Demographics {
  /** Years (fractions for infants). */
  age?: number;
  sex?: Sex;
  /** "DICOM PatientAge", "DICOM PatientBirthDate and StudyDate", "given by the user"... */
  source: string;
}

/**
 * A published normative table for one structure, one side (or both hemispheres summed) and one sex: at each
 * age, the volume at each of a few percentiles. Volumes in mL, or in % of intracranial volume.
 */
export interface NormTable {
  id: string;
  /** Full citation, shown in the report next to every percentile taken from it. */
  source: string;
  /** Base structure name as in the volumetry rows ("Hippocampus"). */
  structure: string;
  side: Side | 'total';
  sex: Sex;
  measure: 'ml' | 'pct-icv';
  /** Percentile points of the columns, ascending (e.g. 2.5, 5, 10, 25, 50, 75, 90, 95, 97.5). */
  percentiles: number[];
  /** Ascending ages (years); values ascending, one per percentile point. */
  rows: { age: number; values: number[] }[];
  /** How the table's volumes were measured (method, cohort): a percentile compares like with like only roughly. */
  note?: string;
}

export type NormResult =
  | {
      kind: 'percentile';
      /** 0..100; at a table's edge, the edge percentile with `bound` saying the value lies beyond it. */
      percentile: number;
      bound?: 'below' | 'above';
      table: string;
      source: string;
    }
  | { kind: 'none'; reason: string };

export interface IcvEstimate {
  volumeMl: number;
  /** One line on how it was obtained (atlases, alignment, fusion). */
  method: string;
  /** Each atlas's own estimate (mL), to show their spread. */
  perAtlasMl?: number[];
}

export interface VolumetryRow {
  value: number;
  /** "Left-Hippocampus". */
  name: string;
  /** "Hippocampus". */
  structure: string;
  side?: Side;
  voxels: number;
  volumeMl: number;
  /** volume / ICV × 100; null without an ICV. */
  pctIcv: number | null;
  norm: NormResult;
}

/** A lateral structure with both sides measured. */
export interface VolumetryPair {
  structure: string;
  leftMl: number;
  rightMl: number;
  totalMl: number;
  /** |L − R| / ((L + R) / 2) × 100 (see ASYMMETRY_FORMULA); null when both are empty. */
  asymmetryIndex: number | null;
  /** (L − R) / ((L + R) / 2) × 100: the sign says which side is larger. */
  signedAsymmetry: number | null;
  pctIcv: number | null;
  norm: NormResult;
}

export interface VolumetryResult {
  voxelVolumeMm3: number;
  icv: IcvEstimate | null;
  demographics: Demographics;
  rows: VolumetryRow[];
  pairs: VolumetryPair[];
  asymmetryFormula: string;
  /** The normative tables in use (sources) and the caveats of those that gave a percentile, once for the whole table. */
  normsNote: string;
}
