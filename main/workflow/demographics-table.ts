import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { InputError } from '../common/errors.js';
import { csvFields, csvRecords } from '../util/csv.js';
import type { BatchScan } from './batch-scans.js';

/** Age and sex the user gives for a scan; they win over its DICOM header (export/volumetry/demographics.ts). */
export interface GivenDemographics {
  age?: number;
  sex?: string;
}

/**
 * A user's table of age and sex per scan (CSV with a header: `scan`, and `age` and/or `sex`), for the norms of a
 * batch whose scans carry none (NIfTI files, anonymised series). `scan` is matched against the batch's scan id
 * (its output folder's name), then its label, then the file or folder name with or without `.nii`/`.nii.gz`.
 * Every value is checked here, so a typo names its file and line before any scan runs.
 */
export async function readDemographicsTable(file: string): Promise<Map<string, GivenDemographics>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(file, `cannot read the demographics table (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const [head, ...records] = csvRecords(text.replace(/^\uFEFF/, ''));
  const columns = csvFields(head ?? '').map((c) => c.trim().toLowerCase());
  const at = (name: string) => columns.indexOf(name);
  if (at('scan') < 0 || (at('age') < 0 && at('sex') < 0))
    throw new InputError(file, 'is not a demographics table: its first line must name the columns scan and age and/or sex');
  const table = new Map<string, GivenDemographics>();
  records.forEach((record, k) => {
    const f = csvFields(record).map((x) => x.trim());
    const line = `line ${k + 2}`;
    const scan = f[at('scan')] ?? '';
    if (!scan) throw new InputError(file, `${line}: no scan named`);
    if (table.has(scan)) throw new InputError(file, `${line}: scan ${scan} is listed twice`);
    const given: GivenDemographics = {};
    const ageText = at('age') >= 0 ? (f[at('age')] ?? '') : '';
    if (ageText !== '') {
      const age = Number(ageText);
      if (!Number.isFinite(age) || age < 0 || age > 130) throw new InputError(file, `${line}: age "${ageText}" is not an age in years`);
      given.age = age;
    }
    const sexText = at('sex') >= 0 ? (f[at('sex')] ?? '').toUpperCase() : '';
    if (sexText !== '') {
      if (!['M', 'F', 'MALE', 'FEMALE'].includes(sexText)) throw new InputError(file, `${line}: sex "${f[at('sex')]}": give M or F`);
      given.sex = sexText[0];
    }
    table.set(scan, given);
  });
  return table;
}

/** The table's row for a scan, by its id, its label, or its file or folder name (with or without the extension). */
export function demographicsFor(table: ReadonlyMap<string, GivenDemographics>, scan: BatchScan): GivenDemographics | undefined {
  const name = basename(scan.path);
  for (const key of [scan.id, scan.label, name, name.replace(/\.nii(\.gz)?$/i, '')]) {
    const hit = table.get(key);
    if (hit) return hit;
  }
  return undefined;
}
