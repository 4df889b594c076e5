import { InputError } from '../../common/errors.js';
import type { Volume } from '../../imaging/volume.js';
import { voxelVolumeMm3 } from '../../imaging/volume.js';
import { asegName, parseStructureName } from './labels.js';
import { NO_BUNDLED_NORMS_NOTE, normPercentile, PUBLISHED_NORMS } from './norms.js';
import type { Demographics, IcvEstimate, NormResult, NormTable, VolumetryPair, VolumetryResult, VolumetryRow } from './types.js';

export const ASYMMETRY_FORMULA = 'asymmetry index = |L − R| / ((L + R) / 2) × 100 %';

export interface VolumetryOptions {
  /** Names of label values; else the mask's own label names, else the FreeSurfer aseg name, else "Label N". */
  names?: Record<number, string>;
  /** Only these label values (default: every non-zero value of the mask). */
  labels?: number[];
  icv?: IcvEstimate | null;
  demographics?: Demographics;
  /** Normative tables; default the published ones bundled (PUBLISHED_NORMS). */
  norms?: readonly NormTable[];
}

/**
 * Volumetry of a label mask: each structure's volume, its share of the intracranial volume, left/right pairs
 * with their asymmetry, and a percentile for age and sex where a normative table covers it.
 */
export function volumetry(mask: Volume, o: VolumetryOptions = {}): VolumetryResult {
  const det = voxelVolumeMm3(mask.affine);
  const n = mask.dims[0] * (mask.dims[1] ?? 1) * (mask.dims[2] ?? 1);
  const counts = new Map<number, number>();
  const d = mask.data;
  for (let i = 0; i < n; i++) {
    const v = Math.round(d[i] * mask.slope + mask.intercept);
    if (v !== 0) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  if (o.icv && !(o.icv.volumeMl > 0)) throw new InputError(undefined, `intracranial volume ${o.icv.volumeMl} mL is not a volume`);
  const icvMl = o.icv?.volumeMl ?? null;
  const demographics = o.demographics ?? { source: 'age and sex unknown' };
  const norms = o.norms ?? PUBLISHED_NORMS;
  const values = o.labels?.length ? [...new Set(o.labels)].sort((a, b) => a - b) : [...counts.keys()].sort((a, b) => a - b);
  const pct = (ml: number) => (icvMl ? (ml / icvMl) * 100 : null);

  const rows: VolumetryRow[] = values.map((value) => {
    const voxels = counts.get(value) ?? 0;
    const volumeMl = (voxels * det) / 1000;
    // The caller's names, else the label map's own (a SEG's segments, an atlas's table), else FreeSurfer aseg's.
    const given = o.names?.[value] ?? mask.labels?.find((l) => l.value === value)?.name;
    const named = given ? parseStructureName(given) : (asegName(value) ?? { name: `Label ${value}`, structure: `Label ${value}` });
    const row: VolumetryRow = {
      value,
      name: named.name,
      structure: named.structure,
      voxels,
      volumeMl,
      pctIcv: pct(volumeMl),
      norm: { kind: 'none', reason: '' },
    };
    if (named.side) row.side = named.side;
    row.norm = named.side
      ? normPercentile(norms, named.structure, named.side, demographics, { ml: volumeMl, pctIcv: row.pctIcv })
      : normPercentile(norms, named.structure, 'total', demographics, { ml: volumeMl, pctIcv: row.pctIcv });
    return row;
  });

  const pairs: VolumetryPair[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    if (!r.side || seen.has(r.structure.toLowerCase())) continue;
    const left = rows.filter((x) => x.side === 'left' && x.structure.toLowerCase() === r.structure.toLowerCase());
    const right = rows.filter((x) => x.side === 'right' && x.structure.toLowerCase() === r.structure.toLowerCase());
    if (!left.length || !right.length) continue;
    seen.add(r.structure.toLowerCase());
    const leftMl = left.reduce((s, x) => s + x.volumeMl, 0);
    const rightMl = right.reduce((s, x) => s + x.volumeMl, 0);
    const totalMl = leftMl + rightMl;
    const mean = totalMl / 2;
    pairs.push({
      structure: r.structure,
      leftMl,
      rightMl,
      totalMl,
      asymmetryIndex: mean > 0 ? (Math.abs(leftMl - rightMl) / mean) * 100 : null,
      signedAsymmetry: mean > 0 ? ((leftMl - rightMl) / mean) * 100 : null,
      pctIcv: pct(totalMl),
      norm: normPercentile(norms, r.structure, 'total', demographics, { ml: totalMl, pctIcv: pct(totalMl) }),
    });
  }
  return {
    voxelVolumeMm3: det,
    icv: o.icv ?? null,
    demographics,
    rows,
    pairs,
    asymmetryFormula: ASYMMETRY_FORMULA,
    normsNote: normsNote(norms, [...rows.map((x) => x.norm), ...pairs.map((p) => p.norm)]),
  };
}

/**
 * The tables' sources, and the caveats of those that gave a percentile here: a table measured with another tool
 * (another segmentation, another ICV) compares with this app's volumes only roughly, and the report says so.
 */
function normsNote(norms: readonly NormTable[], results: NormResult[]): string {
  if (!norms.length) return NO_BUNDLED_NORMS_NOTE;
  const used = new Set(results.flatMap((n) => (n.kind === 'percentile' ? [n.table] : [])));
  const notes = [...new Set(norms.flatMap((t) => (used.has(t.id) && t.note ? [t.note] : [])))];
  return [`Norms: ${[...new Set(norms.map((t) => t.source))].join('; ')}.`, ...notes].join(' ');
}

/** The volumetry columns of a worklist CSV row (batch adds scan, status and message). */
export const VOLUMETRY_COLUMNS = [
  'structure',
  'label',
  'side',
  'volume_ml',
  'icv_ml',
  'pct_icv',
  'asymmetry_index',
  'percentile',
  'norm',
  'age',
  'sex',
] as const;

export type VolumetryRecord = Record<(typeof VOLUMETRY_COLUMNS)[number], string>;

/** One record per structure (and one per left/right pair, label "L+R"), values as CSV text. */
export function volumetryRecords(r: VolumetryResult): VolumetryRecord[] {
  const f = (x: number | null | undefined, digits: number) => (x === null || x === undefined || !Number.isFinite(x) ? '' : x.toFixed(digits));
  const common = { icv_ml: f(r.icv?.volumeMl, 1), age: f(r.demographics.age, 1), sex: r.demographics.sex ?? '' };
  const asym = new Map(r.pairs.map((p) => [p.structure.toLowerCase(), p.asymmetryIndex]));
  const normText = (n: VolumetryRow['norm']) =>
    n.kind === 'percentile'
      ? { percentile: `${n.bound === 'below' ? '<' : n.bound === 'above' ? '>' : ''}${n.percentile.toFixed(1)}`, norm: n.table }
      : { percentile: '', norm: n.reason };
  const out: VolumetryRecord[] = r.rows.map((row) => ({
    structure: row.name,
    label: String(row.value),
    side: row.side ?? '',
    volume_ml: f(row.volumeMl, 4),
    ...common,
    pct_icv: f(row.pctIcv, 4),
    asymmetry_index: row.side ? f(asym.get(row.structure.toLowerCase()), 2) : '',
    ...normText(row.norm),
  }));
  for (const p of r.pairs)
    out.push({
      structure: `${p.structure} (L+R)`,
      label: 'L+R',
      side: 'both',
      volume_ml: f(p.totalMl, 4),
      ...common,
      pct_icv: f(p.pctIcv, 4),
      asymmetry_index: f(p.asymmetryIndex, 2),
      ...normText(p.norm),
    });
  return out;
}

/** RFC 4180 CSV of the records, with the given leading columns (scan name...) before the volumetry ones. */
export function volumetryCsv(r: VolumetryResult, lead: Record<string, string> = {}): string {
  const q = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const head = [...Object.keys(lead), ...VOLUMETRY_COLUMNS];
  const lines = [head.join(',')];
  for (const rec of volumetryRecords(r)) lines.push([...Object.values(lead), ...VOLUMETRY_COLUMNS.map((c) => rec[c])].map(q).join(','));
  return lines.join('\r\n') + '\r\n';
}
