import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { findScans } from '../../main/workflow/batch-scans.js';
import { tempDir } from '../helpers/tmp.js';

// Listing reads only names and sizes for NIfTI files, so empty files stand in for scans here.
describe('findScans and symbolic links', () => {
  test('a link to a scan or to a folder of scans counts; a loop and a broken link do not', async () => {
    const tmp = tempDir();
    const elsewhere = join(tmp, 'pacs-export');
    mkdirSync(join(elsewhere, 'study-2'), { recursive: true });
    writeFileSync(join(elsewhere, 'a_T1.nii.gz'), '');
    writeFileSync(join(elsewhere, 'study-2', 'b_T1.nii.gz'), '');
    const list = join(tmp, 'worklist');
    mkdirSync(list);
    writeFileSync(join(list, 'own_T1.nii'), '');
    symlinkSync(join(elsewhere, 'a_T1.nii.gz'), join(list, 'linked_T1.nii.gz'));
    symlinkSync(join(elsewhere, 'study-2'), join(list, 'study-2'));
    symlinkSync(list, join(list, 'loop'));
    symlinkSync(join(tmp, 'gone_T1.nii.gz'), join(list, 'broken_T1.nii.gz'));

    const scans = await findScans(list);

    expect(scans.map((s) => s.label)).toEqual(['linked_T1.nii.gz', 'own_T1.nii', join('study-2', 'b_T1.nii.gz')]);
    expect(scans.every((s) => s.kind === 'nifti')).toBe(true);
  });
});
