import { readFile } from 'node:fs/promises';
import { InputError } from '../../common/errors.js';
import { COUPE_2017_HIPPOCAMPUS } from './norms-coupe2017.js';
import type { Demographics, NormResult, NormTable, Side } from './types.js';

/**
 * Published normative tables carried as facts (numbers, with their source; no code). One is bundled: hippocampal
 * volume in % of the intracranial cavity by sex, side and year of age 0–90 (Coupé et al. 2017, the bounds its
 * authors publish with AssemblyNet; see norms-coupe2017.ts for the file, commit and caveats). The UK Biobank
 * nomograms of Nobis et al. (2019, NeuroImage: Clinical 23:101904; FSL FIRST, mL, ages 45–80) would match a
 * clinician's expectation better, but their numbers are in the paper's figures and supplement only, which could not
 * be read here; the UK Biobank tables that Janahi et al. (eLife 2022) put in their repository are for the top and
 * bottom 30 % of a polygenic score, not for everyone. More tables in the NormTable form come per run with
 * `--norms FILE` (they replace these).
 */
export const PUBLISHED_NORMS: readonly NormTable[] = COUPE_2017_HIPPOCAMPUS;

/** Said once under the table when no normative table is in use (`--norms` with an empty list). */
export const NO_BUNDLED_NORMS_NOTE = 'No normative table in use: give tables with --norms to get percentiles.';

/** Percentile of `value` among people of the patient's age and sex, or why there is none. */
export function normPercentile(
  tables: readonly NormTable[],
  structure: string,
  side: Side | 'total',
  demographics: Demographics,
  value: { ml: number; pctIcv: number | null },
): NormResult {
  const forStructure = tables.filter((t) => t.structure.toLowerCase() === structure.toLowerCase() && t.side === side);
  if (forStructure.length === 0) return { kind: 'none', reason: `no norm available for ${side === 'total' ? '' : `${side} `}${structure}` };
  if (!demographics.sex) return { kind: 'none', reason: 'no norm available: sex unknown' };
  if (demographics.age === undefined || !Number.isFinite(demographics.age)) return { kind: 'none', reason: 'no norm available: age unknown' };
  const table = forStructure.find((t) => t.sex === demographics.sex);
  if (!table) return { kind: 'none', reason: `no norm available for sex ${demographics.sex}` };
  const age = demographics.age;
  const first = table.rows[0].age;
  const last = table.rows[table.rows.length - 1].age;
  if (age < first || age > last) return { kind: 'none', reason: `no norm available: age ${formatAge(age)} outside the table's ${first}–${last} years` };
  const x = table.measure === 'ml' ? value.ml : value.pctIcv;
  if (x === null) return { kind: 'none', reason: 'no norm available: the table is in % of intracranial volume, which was not estimated' };
  const values = valuesAtAge(table, age);
  const p = table.percentiles;
  if (x < values[0]) return { kind: 'percentile', percentile: p[0], bound: 'below', table: table.id, source: table.source };
  if (x > values[values.length - 1]) return { kind: 'percentile', percentile: p[p.length - 1], bound: 'above', table: table.id, source: table.source };
  // Linear between neighbouring percentile points: the tables give a handful of points, nothing finer is known.
  for (let i = 1; i < values.length; i++) {
    if (x <= values[i]) {
      const f = values[i] === values[i - 1] ? 0 : (x - values[i - 1]) / (values[i] - values[i - 1]);
      return { kind: 'percentile', percentile: p[i - 1] + f * (p[i] - p[i - 1]), table: table.id, source: table.source };
    }
  }
  return { kind: 'percentile', percentile: p[p.length - 1], table: table.id, source: table.source };
}

/** The table's volumes at `age`, linear between the two nearest rows. */
function valuesAtAge(t: NormTable, age: number): number[] {
  const i = t.rows.findIndex((r) => r.age >= age);
  if (i <= 0) return t.rows[0].values.slice();
  const a = t.rows[i - 1];
  const b = t.rows[i];
  const f = (age - a.age) / (b.age - a.age);
  return a.values.map((v, k) => v + f * (b.values[k] - v));
}

function formatAge(age: number): string {
  return Number.isInteger(age) ? String(age) : age.toFixed(1);
}

/** Checks a table from a file field by field (it is user input); throws InputError naming the file. */
export function checkNormTable(t: unknown, file: string, index: number): NormTable {
  const where = `table ${index + 1}`;
  const bad = (what: string) => new InputError(file, `${where}: ${what}`);
  if (!t || typeof t !== 'object') throw bad('is not an object');
  const o = t as Record<string, unknown>;
  for (const k of ['id', 'source', 'structure']) if (typeof o[k] !== 'string' || !(o[k] as string).trim()) throw bad(`"${k}" must be a non-empty string`);
  if (!['left', 'right', 'total'].includes(o.side as string)) throw bad('"side" must be left, right or total');
  if (o.sex !== 'M' && o.sex !== 'F') throw bad('"sex" must be M or F');
  if (o.measure !== 'ml' && o.measure !== 'pct-icv') throw bad('"measure" must be ml or pct-icv');
  const p = o.percentiles;
  if (!Array.isArray(p) || p.length < 2 || !p.every((x, i) => typeof x === 'number' && x > 0 && x < 100 && (i === 0 || x > p[i - 1])))
    throw bad('"percentiles" must be at least two ascending numbers between 0 and 100');
  const rows = o.rows;
  if (!Array.isArray(rows) || rows.length === 0) throw bad('"rows" must list at least one age');
  rows.forEach((r, i) => {
    const row = r as { age?: unknown; values?: unknown };
    if (typeof row?.age !== 'number' || !Number.isFinite(row.age) || (i > 0 && row.age <= (rows[i - 1] as { age: number }).age))
      throw bad(`row ${i + 1}: "age" must be a number, ascending from row to row`);
    const v = row.values;
    if (!Array.isArray(v) || v.length !== p.length || !v.every((x, k) => typeof x === 'number' && x > 0 && (k === 0 || x >= v[k - 1])))
      throw bad(`row ${i + 1}: "values" must be ${p.length} positive numbers, one per percentile, not decreasing`);
  });
  return o as unknown as NormTable;
}

/** Normative tables from a JSON file: an array of NormTable objects (or `{ "tables": [...] }`). */
export async function loadNormTables(file: string): Promise<NormTable[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new InputError(file, `cannot read the normative tables (${(err as Error).message})`);
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { tables?: unknown })?.tables;
  if (!Array.isArray(list)) throw new InputError(file, 'expected a JSON array of normative tables (or an object with "tables")');
  return list.map((t, i) => checkNormTable(t, file, i));
}
