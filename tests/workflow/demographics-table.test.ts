import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { demographicsFor, readDemographicsTable } from '../../main/workflow/demographics-table.js';
import type { BatchScan } from '../../main/workflow/batch-scans.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('neuroverse-demographics-');
const write = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};
const scan = (id: string, path: string): BatchScan => ({ id, label: path, kind: 'nifti', path, fingerprint: '' });

describe("a batch's table of age and sex per scan", () => {
  test('rows are found by scan id or by file name with or without its extension; quoted fields and a BOM are read', async () => {
    const t = await readDemographicsTable(write('ok.csv', '\uFEFFscan,Age,sex\r\nsite-b__sub-03_T1,71,f\r\n"sub-01_T1.nii.gz",45.5,MALE\r\nsub-02_T1,,F\r\n'));
    expect(demographicsFor(t, scan('site-b__sub-03_T1', '/in/site-b/sub-03_T1.nii.gz'))).toEqual({ age: 71, sex: 'F' });
    expect(demographicsFor(t, scan('sub-01_T1', '/in/sub-01_T1.nii.gz'))).toEqual({ age: 45.5, sex: 'M' });
    // An empty age is unknown, not zero.
    expect(demographicsFor(t, scan('x', '/in/sub-02_T1.nii'))).toEqual({ sex: 'F' });
    expect(demographicsFor(t, scan('sub-09_T1', '/in/sub-09_T1.nii.gz'))).toBeUndefined();
  });

  test('a malformed table is refused naming the file and the line', async () => {
    await expect(readDemographicsTable(write('cols.csv', 'id,years\r\na,3\r\n'))).rejects.toThrow(/cols\.csv.*columns scan and age/);
    await expect(readDemographicsTable(write('age.csv', 'scan,age\r\na,40\r\nb,forty\r\n'))).rejects.toThrow(/age\.csv.*line 3: age "forty"/);
    await expect(readDemographicsTable(write('sex.csv', 'scan,sex\r\na,X\r\n'))).rejects.toThrow(/sex\.csv.*line 2: sex "X": give M or F/);
    await expect(readDemographicsTable(write('twice.csv', 'scan,sex\r\na,F\r\na,M\r\n'))).rejects.toThrow(/twice\.csv.*line 3: scan a is listed twice/);
    await expect(readDemographicsTable(join(dir, 'missing.csv'))).rejects.toThrow(/missing\.csv.*cannot read.*ENOENT/);
  });
});
