import dicomParser from 'dicom-parser';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { InputError } from '../../main/api/errors.js';
import { dicomDecodePool, workerSeriesDecoder } from '../../main/compute/dicom-decode.js';
import { importSeries, openImagePath, scanDicomFolder } from '../../main/imaging/index.js';
import { dicomDir, hasSharedData } from '../helpers/shared-data.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir();
const GE = dicomDir('ge-3d-t1-mprage/In/05_3D_Ax_T1_MP_RAGE_R22');

function folder(name: string): string {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  return d;
}

/** A copy of the GE series to damage. */
function geCopy(name: string): { dir: string; files: string[] } {
  const dir = folder(name);
  const files = readdirSync(GE).sort();
  for (const f of files) copyFileSync(join(GE, f), join(dir, f));
  return { dir, files };
}

// The workstation and the CLI decode in a compute worker: every import below must fail there exactly as here.
const pool = dicomDecodePool(1);
afterAll(() => pool.close());
const inWorker = workerSeriesDecoder(() => pool);

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: InputError) => ({ class: e.constructor, message: e.message, file: e.file, code: e.code }),
  );

async function importFolder(dir: string) {
  const scan = await scanDicomFolder(dir);
  const there = await outcome(importSeries(scan, undefined, undefined, inWorker));
  const here = importSeries(scan, undefined);
  expect(there).toEqual(await outcome(here));
  return here;
}

describe('DICOM folders that cannot be imported', () => {
  test('an empty folder', async () => {
    const dir = folder('empty');
    await expect(scanDicomFolder(dir)).rejects.toThrow(new InputError(dir, 'the folder is empty'));
  });

  test('a folder without DICOM files', async () => {
    const dir = folder('text');
    writeFileSync(join(dir, 'notes.txt'), 'not an image');
    writeFileSync(join(dir, 'scan.dcm'), 'also not an image');
    await expect(scanDicomFolder(dir)).rejects.toThrow(/text: no DICOM images found \(2 files, none a DICOM image\)/);
  });

  test('a path that is neither NIfTI nor a folder', async () => {
    const dir = folder('misc');
    writeFileSync(join(dir, 'report.pdf'), '%PDF');
    await expect(openImagePath(join(dir, 'report.pdf'))).rejects.toThrow(
      /report\.pdf: not a NIfTI file \(\.nii, \.nii\.gz\), a DICOM folder or a DICOM-SEG file/,
    );
  });

  test.skipIf(!hasSharedData)('a DICOM file without pixel data (a non-image object)', async () => {
    const dir = folder('no-pixels');
    const bytes = readFileSync(join(GE, readdirSync(GE)[0]));
    const pixel = dicomParser.parseDicom(bytes).elements.x7fe00010;
    // Cut just before the Pixel Data element's tag: a valid file that holds only a header.
    writeFileSync(join(dir, 'header-only.dcm'), bytes.subarray(0, pixel.dataOffset - 12));
    await expect(scanDicomFolder(dir)).rejects.toThrow(/no-pixels: no DICOM images found \(1 file, none a DICOM image\)/);
  });

  test.skipIf(!hasSharedData)('mixed image sizes in one series', async () => {
    const { dir, files } = geCopy('mixed');
    const path = join(dir, files[10]);
    const bytes = readFileSync(path);
    const rows = dicomParser.parseDicom(bytes).elements.x00280010;
    bytes.writeUInt16LE(128, rows.dataOffset);
    writeFileSync(path, bytes);
    await expect(importFolder(dir)).rejects.toThrow(/mixed: mixed image sizes in one series: 256×256 \(129 files\), 256×128 \(1 file\)/);
  });

  test.skipIf(!hasSharedData)('a missing slice in the middle of the stack', async () => {
    const { dir, files } = geCopy('gap');
    // File names are not in slice order; remove the file whose position is in the middle.
    const scan = await scanDicomFolder(dir);
    const sorted = [...scan.series[0].headers].sort((a, b) => a.position![2] - b.position![2]);
    rmSync(sorted[60].file.path!);
    void files;
    await expect(importFolder(dir)).rejects.toThrow(/gap: uneven slice spacing .* a slice may be missing/);
  });

  test.skipIf(!hasSharedData)('a truncated slice is reported by name, not skipped', async () => {
    const { dir, files } = geCopy('truncated');
    const path = join(dir, files[5]);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 5000));
    const err = await importFolder(dir).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.file).toBe(path);
    expect(err.message).toMatch(/damaged DICOM file|pixel data truncated/);
  });

  test.skipIf(!hasSharedData)('Rows = Columns = 65535 in every file: refused before allocating, naming the field', async () => {
    const { dir, files } = geCopy('huge');
    for (const f of files) {
      const path = join(dir, f);
      const bytes = readFileSync(path);
      const ds = dicomParser.parseDicom(bytes);
      bytes.writeUInt16LE(65535, ds.elements.x00280010.dataOffset);
      bytes.writeUInt16LE(65535, ds.elements.x00280011.dataOffset);
      writeFileSync(path, bytes);
    }
    const err = await importFolder(dir).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/image size 65535×65535 \(Columns × Rows\) is not between 1 and 16384/);
  });

  test.skipIf(!hasSharedData)('Rows doubled in every file: the pixel data each file holds is checked before allocating', async () => {
    const { dir, files } = geCopy('doubled');
    for (const f of files) {
      const path = join(dir, f);
      const bytes = readFileSync(path);
      bytes.writeUInt16LE(512, dicomParser.parseDicom(bytes).elements.x00280010.dataOffset);
      writeFileSync(path, bytes);
    }
    const err = await importFolder(dir).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/pixel data truncated: Rows 512 × Columns 256 × 16 bits need 262144 bytes, the file holds 131072/);
  });
});
