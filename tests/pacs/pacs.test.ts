import { spawnSync } from 'node:child_process';
import dcmjs from 'dcmjs';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { importSeries, scanDicomFolder, writeNifti } from '../../main/imaging/index.js';
import { neuroverse, ROOT } from '../helpers/cli.js';
import { dicomDir, hasSharedData } from '../helpers/shared-data.js';
import { tempDir } from '../helpers/tmp.js';
import { twoStructureMask } from '../export/masks.js';
import { dcentvfy, dciodvfy, ACCEPTED_WARNINGS } from '../export/validators.js';
import { startOrthanc, type OrthancInNamespace } from './orthanc.js';

const dir = tempDir('neuroverse-pacs-');
const env = { NEUROVERSE_DATA_DIR: join(dir, 'data') };
const GE = 'ge-3d-t1-mprage/In/05_3D_Ax_T1_MP_RAGE_R22';
const LOCAL = { aeTitle: 'NEUROVERSE', port: 11112 };

function dcmdump(file: string): string {
  const r = spawnSync('dcmdump', ['-q', '+L', file], { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.error) throw new Error('dcmdump not found: install dcmtk (scripts/setup.sh --with-test-deps)');
  return r.stdout;
}

/** The raw pixel data of a file. */
function pixelBytes(file: string): Buffer {
  const d = dcmjs.data.DicomMessage.readFile(toArrayBuffer(readFileSync(file)));
  const px = (d.dict['7FE00010'] as { Value: ArrayBuffer[] }).Value;
  return Buffer.from(px[0]);
}

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

describe.skipIf(!hasSharedData)('PACS round trip against a real Orthanc in a private network namespace', () => {
  let pacs: OrthancInNamespace;
  let seg: string;
  let studyUid: string;
  let segSeriesUid: string;

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist/main/cli/neuroverse.js'))) throw new Error('run `npm run build` before the CLI tests');
    // The SEG to send, made with the CLI from a mask on the GE series.
    const volume = await importSeries(await scanDicomFolder(dicomDir(GE)), undefined);
    studyUid = volume.source.studyInstanceUid!;
    const mask = join(dir, 'mask.nii.gz');
    await writeNifti(mask, twoStructureMask(volume), { intent: 'label' });
    seg = join(dir, 'seg.dcm');
    const r = neuroverse(
      ['export-seg', '--mask', mask, '--reference', dicomDir(GE), '--out', seg, '--segment', 'Left-Hippocampus=17', '--segment', 'Right-Thalamus=53'],
      env,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    pacs = await startOrthanc(dir, LOCAL);
  }, 180_000);

  afterAll(async () => {
    await pacs?.stop();
  });

  test('nodes are configured in the data folder; C-ECHO succeeds', () => {
    const add = pacs.neuroverse(['pacs', 'nodes', 'add', 'orthanc', '--ae', pacs.aeTitle, '--host', '127.0.0.1', '--port', String(pacs.port)], env);
    expect(add.code, add.stderr).toBe(0);
    const saved = JSON.parse(readFileSync(join(dir, 'data', 'pacs-nodes.json'), 'utf8'));
    expect(saved).toEqual({ localAeTitle: 'NEUROVERSE', nodes: [{ name: 'orthanc', aeTitle: 'ORTHANC', host: '127.0.0.1', port: 4242 }] });
    const r = pacs.neuroverse(['pacs', 'echo', '--node', 'orthanc'], env);
    expect(r.stderr + pacs.log().slice(-500)).not.toMatch(/neuroverse pacs:/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/C-ECHO ORTHANC@127\.0\.0\.1:4242: success/);
  }, 60_000);

  test('C-STORE of the source series and the SEG, then C-FIND finds the study and both series', () => {
    const sent = pacs.neuroverse(['pacs', 'send', '--node', 'orthanc', dicomDir(GE), seg], env);
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/131 of 131 instances stored/);

    const studies = pacs.neuroverse(['pacs', 'find', '--node', 'orthanc', '--json'], env);
    expect(studies.code, studies.stderr).toBe(0);
    const found = JSON.parse(studies.stdout);
    expect(found.map((s: { StudyInstanceUID: string }) => s.StudyInstanceUID)).toEqual([studyUid]);

    const series = pacs.neuroverse(['pacs', 'find', '--node', 'orthanc', '--study', studyUid, '--json'], env);
    expect(series.code, series.stderr).toBe(0);
    const list = JSON.parse(series.stdout) as { Modality: string; SeriesInstanceUID: string; NumberOfSeriesRelatedInstances: string | number }[];
    expect(list.map((s) => s.Modality).sort()).toEqual(['MR', 'SEG']);
    expect(Number(list.find((s) => s.Modality === 'MR')!.NumberOfSeriesRelatedInstances)).toBe(130);
    segSeriesUid = list.find((s) => s.Modality === 'SEG')!.SeriesInstanceUID;
  }, 180_000);

  test('C-GET brings the study back; the retrieved SEG validates again', () => {
    const out = join(dir, 'retrieved');
    const r = pacs.neuroverse(['pacs', 'get', '--node', 'orthanc', '--study', studyUid, '--out', out], env);
    expect(r.stderr + pacs.log().slice(-1500)).not.toMatch(/neuroverse pacs:/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/131 instances written/);
    const files = readdirSync(out).filter((f) => f.endsWith('.dcm'));
    expect(files).toHaveLength(131);
    expect(readdirSync(out).filter((f) => f.endsWith('.partial'))).toEqual([]);
    const segFile = files.map((f) => join(out, f)).find((f) => dciodvfy(f).output.includes('Segmentation'))!;
    expect(segFile).toBeDefined();
    const v = dciodvfy(segFile);
    expect(v.errors, v.output).toEqual([]);
    expect(
      v.warnings.filter((w) => !ACCEPTED_WARNINGS.some((re) => re.test(w))),
      v.output,
    ).toEqual([]);
    const sources = readdirSync(dicomDir(GE)).map((f) => join(dicomDir(GE), f));
    const e = dcentvfy(segFile, sources);
    expect(e.errors, e.output).toEqual([]);
    expect(e.warnings, e.output).toEqual([]);
    expect(segSeriesUid).toBeTruthy();
    // A retrieved MR instance keeps its standard and private attributes and its pixels, value for value.
    const source = join(dicomDir(GE), 'i152.MRDC.5');
    const uid = /\(0008,0018\) UI \[([0-9.]+)\]/.exec(dcmdump(source))![1];
    const attributes = (text: string) =>
      text
        .split('\n')
        .filter((l) => /^\((0008|0010|0018|0020|0028|\d{3}[13579b-f]),/i.test(l) && !/^\(0008,0005\)/.test(l))
        .map((l) => l.replace(/\s+#.*$/, ''))
        // How a sequence's length is encoded (Orthanc may choose explicit lengths) is not content.
        .map((l) => l.replace(/\(Sequence with (explicit|undefined) length.*$/, '(Sequence'));
    const retrieved = join(out, `${uid}.dcm`);
    const before = attributes(dcmdump(source));
    expect(before.filter((l) => /^\(0043,/.test(l)).length).toBeGreaterThan(10); // GE private group present
    expect(attributes(dcmdump(retrieved))).toEqual(before);
    expect(pixelBytes(retrieved).equals(pixelBytes(source))).toBe(true);
    // The retrieved SEG converts back to the mask, its series found in the same retrieved folder.
    const back = join(dir, 'retrieved-mask.nii.gz');
    const c = pacs.neuroverse(['convert', segFile, '--out', back], env);
    expect(c.stderr).toBe('');
    expect(c.stdout).toMatch(/value 17 {2}segment 1 "Left-Hippocampus"/);
    const [a, b] = [readFileSync(back), readFileSync(join(dir, 'mask.nii.gz'))];
    expect(gunzipSync(a).subarray(352).equals(gunzipSync(b).subarray(352))).toBe(true);
  }, 240_000);

  test('the API sends a volume with its SEG made in memory, finds it, and retrieves the series into the app', () => {
    const mask = join(dir, 'mask.nii.gz');
    const r = pacs.neuroverse([], {}, ['tests/pacs/api-in-namespace.mjs', join(dir, 'api-data'), dicomDir(GE), mask, String(pacs.port)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.sent).toEqual({ sent: 131, failed: [] });
    expect(j.studies).toBe(1);
    expect(j.modalities).toEqual(['MR', 'SEG', 'SEG']); // the CLI's SEG and the API's
    expect(j.retrieved.kind).toBe('volume');
    expect(j.retrieved.dims).toEqual(j.original.dims);
    // Same geometry. Not bit-equal: the importer takes the orientation from the first file it reads, and
    // GE writes it with per-file rounding differences (~1e-10); the retrieved files are named differently.
    for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) expect(Math.abs(j.retrieved.affine[r][c] - j.original.affine[r][c])).toBeLessThan(1e-6);
    // The SEGs retrieved from the PACS open as label overlays with their names, colours and voxels.
    const names = (o: { labels: { name: string }[] }) => o.labels.map((l) => l.name).join(', ');
    expect(j.segAlone.role).toBe('label');
    expect(j.segAlone.voxels17).toBe(j.maskVoxels17);
    expect(j.study.role).toBe('image');
    expect(j.study.problems).toEqual([]);
    expect(j.study.overlays.map(names).sort()).toEqual(['Left-Hippocampus, Right-Thalamus', 'Right-Hippocampus']);
    for (const o of j.study.overlays) expect(o.voxels17).toBe(j.maskVoxels17);
    expect(j.study.overlays[0].labels[0].color).toEqual([217, 38, 38]);
  }, 240_000);

  test('unreachable node and rejected association: one clear line each, nothing written', () => {
    const refused = pacs.neuroverse(['pacs', 'echo', '--ae', 'ORTHANC', '--host', '127.0.0.1', '--port', '4243'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/DICOM node command-line \(ORTHANC@127\.0\.0\.1:4243\): unreachable: connection refused/);

    const rejected = pacs.neuroverse(['pacs', 'echo', '--ae', 'NOT-ORTHANC', '--host', '127.0.0.1', '--port', '4242'], env);
    expect(rejected.code).toBe(1);
    expect(rejected.stderr.trim().split('\n')).toHaveLength(1);
    expect(rejected.stderr).toMatch(/DICOM node command-line \(NOT-ORTHANC@127\.0\.0\.1:4242\): association rejected: the called AE title is not recognised/);

    const out = join(dir, 'not-retrieved');
    const get = pacs.neuroverse(['pacs', 'get', '--ae', 'ORTHANC', '--host', '127.0.0.1', '--port', '4243', '--study', studyUid, '--out', out], env);
    expect(get.code).toBe(1);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  }, 60_000);
});
