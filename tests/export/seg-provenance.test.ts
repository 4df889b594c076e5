import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dcmjs from 'dcmjs';
import { describe, expect, test } from 'vitest';
import { createWorkstation } from '../../main/api/handlers.js';
import { exportSeg } from '../../main/export/seg/index.js';
import { vrProblem } from '../../main/export/seg/vr-check.js';
import { encodeNifti, importSeries, readNifti, scanDicomFolder, writeNifti } from '../../main/imaging/index.js';
import { contextIdentity } from '../../main/library/identity.js';
import { Library } from '../../main/library/library.js';
import { neuroverse } from '../helpers/cli.js';
import { dicomDir, hasSharedData } from '../helpers/shared-data.js';
import { tempDir } from '../helpers/tmp.js';
import { twoStructureMask } from './masks.js';
import { dciodvfy, ACCEPTED_WARNINGS } from './validators.js';

const dir = tempDir('neuroverse-seg-prov-');
const GE = 'ge-3d-t1-mprage/In/05_3D_Ax_T1_MP_RAGE_R22';

function readSeg(bytes: Uint8Array) {
  const dict = dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
}
const first = (x: unknown) => (Array.isArray(x) ? x[0] : x);

describe('value representations of copied attributes', () => {
  test.each([
    ['SH', 'T-A0100', null],
    ['SH', 'GEHC0123456789ABCDEF', /20 characters, at most 16/],
    ['CS', 'ORIGINAL', null],
    ['CS', 'lower', /not a valid CS/],
    ['DA', '20240229', null],
    ['DA', '20230229', /not a calendar date/],
    ['DA', '2024-02-01', /not a valid DA/],
    ['TM', '235959.123456', null],
    ['TM', '246000', /not a valid TM/],
    ['UI', '1.2.840.10008.5.1.4.1.1.66.4', null],
    ['UI', '1.2.03.4', /not a valid UI/],
    ['DS', '-1.5e-3', null],
    ['DS', '1,5', /not a valid DS/],
    ['IS', '2147483648', /32-bit/],
    ['LO', 'a\\b', /backslash/],
    ['PN', { Alphabetic: 'Doe^Jane' }, null],
    ['PN', { Alphabetic: 'x'.repeat(65) }, /at most 64/],
    ['AS', '042Y', null],
  ] as const)('%s %j', (vr, value, problem) => {
    const found = vrProblem(vr, value);
    if (problem === null) expect(found).toBeNull();
    else expect(found).toMatch(problem);
  });
});

describe.skipIf(!hasSharedData)('a SEG records how it was made', () => {
  test('a run, its corrected copy and a mask from a file: AUTOMATIC, SEMIAUTOMATIC, MANUAL; the audit log says the same', async () => {
    const dataDir = join(dir, 'data');
    const ws = createWorkstation({ mode: 'headless', version: 'test', starter: false, dataDir, libraryDir: join(dataDir, 'library') });
    const [t1, aal] = await ws.api.openSample();
    await ws.api.addLibraryPair({
      set: 'hippocampus · colin27',
      task: { name: 'hippocampus', structure: 'hippocampus', labels: [37, 38] },
      scanner: 'colin27',
      imageVolumeId: t1.id,
      labelVolumeId: aal.id,
    });
    const ge = await ws.openPath(dicomDir(GE));
    if (ge.kind !== 'volume') throw new Error('expected a volume');
    // Atlas vote after affine registration: a real, non-empty result on the GE head (the test model's random weights give none).
    const run = await ws.api.runTask({ targetVolumeId: ge.volume.id, contextSet: 'hippocampus · colin27', method: 'vote', align: 'affine' });
    expect(run.structures[0].voxels).toBeGreaterThan(1000);
    const set = (await ws.api.listContextSets())[0];
    const identity = contextIdentity(set.pairs.map((p) => ({ imageSha256: p.image.sha256, labelSha256: p.label.sha256 })));

    const auto = await ws.api.exportSeg(ge.volume.id, run.volumeId);
    expect(auto.provenance).toMatchObject({
      type: 'AUTOMATIC',
      algorithmName: 'Neuroverse atlas vote',
      method: 'vote',
      alignment: 'affine',
      contextSet: { name: set.name, identity, pairs: 1 },
      runId: run.runId,
    });
    const file = join(dir, 'auto.dcm');
    writeFileSync(file, auto.bytes);
    const v = dciodvfy(file);
    expect(v.errors, v.output).toEqual([]);
    expect(
      v.warnings.filter((w) => !ACCEPTED_WARNINGS.some((re) => re.test(w))),
      v.output,
    ).toEqual([]);
    const ds = readSeg(auto.bytes);
    const equipment = first(ds.ContributingEquipmentSequence);
    expect(equipment).toMatchObject({ Manufacturer: 'Neuroverse Workstation', SoftwareVersions: expect.any(String) });
    expect(first(equipment.PurposeOfReferenceCodeSequence)).toMatchObject({ CodeValue: '109102', CodingSchemeDesignator: 'DCM' });
    expect(equipment.ContributionDescription).toContain(identity);
    const segment = first(ds.SegmentSequence);
    expect(segment).toMatchObject({ SegmentAlgorithmType: 'AUTOMATIC', SegmentAlgorithmName: 'Neuroverse atlas vote' });
    const algorithm = first(segment.SegmentationAlgorithmIdentificationSequence);
    expect(algorithm.AlgorithmName).toBe('Neuroverse atlas vote');
    expect(algorithm.AlgorithmParameters).toContain(`(1 pairs, identity ${identity})`);
    // The set's name is not ASCII ("·"): it must be there as UTF-8, which the SEG declares (ISO_IR 192).
    expect(ds.SpecificCharacterSet).toBe('ISO_IR 192');
    expect(Buffer.from(auto.bytes).includes(Buffer.from(`context set "${set.name}"`, 'utf8'))).toBe(true);
    expect(first(algorithm.AlgorithmFamilyCodeSequence).CodingSchemeDesignator).toBe('99NEUROVERSE');

    // A stroke of the brush: the copy is the run's result corrected by hand.
    const mask = ws.volumes.get(run.volumeId);
    const edited = new Uint8Array(mask.data);
    edited.fill(1, 0, 5000);
    const corrected = await ws.api.updateLabelVolume(run.volumeId, encodeNifti({ ...mask, data: edited }), 'drawing.nii');
    const semi = await ws.api.exportSeg(ge.volume.id, corrected.volumeId);
    expect(semi.provenance).toMatchObject({ type: 'SEMIAUTOMATIC', algorithmName: 'Neuroverse atlas vote', runId: run.runId });
    const semiSegment = first(readSeg(semi.bytes).SegmentSequence);
    expect(semiSegment.SegmentAlgorithmType).toBe('SEMIAUTOMATIC');
    expect(first(semiSegment.SegmentationAlgorithmIdentificationSequence).AlgorithmParameters).toContain('corrected by hand');

    // A mask opened from a file: nothing is known of how it was made, so no algorithm is claimed.
    const maskFile = join(dir, 'from-file.nii.gz');
    await writeNifti(maskFile, mask, { intent: 'label' });
    const opened = await ws.openPath(maskFile, { role: 'label' });
    if (opened.kind !== 'volume') throw new Error('expected a volume');
    const manual = await ws.api.exportSeg(ge.volume.id, opened.volume.id);
    const manualSegment = first(readSeg(manual.bytes).SegmentSequence);
    expect(manualSegment.SegmentAlgorithmType).toBe('MANUAL');
    expect(manualSegment.SegmentAlgorithmName).toBeUndefined();

    const library = await Library.open(join(dataDir, 'library'));
    try {
      const log = library.listAudit(50);
      const recorded = log.find((e) => e.action === 'record-run')!;
      expect(recorded.detail).toMatchObject({
        run: run.runId,
        provenance: { type: 'AUTOMATIC', algorithmName: 'Neuroverse atlas vote', contextSet: { identity } },
      });
      const exported = log.filter((e) => e.action === 'export-seg').map((e) => [e.detail.sopInstanceUid, (e.detail.provenance as { type: string }).type]);
      expect(exported).toEqual([
        [manual.sopInstanceUid, 'MANUAL'],
        [semi.sopInstanceUid, 'SEMIAUTOMATIC'],
        [auto.sopInstanceUid, 'AUTOMATIC'],
      ]);
    } finally {
      library.close();
    }
  }, 180_000);

  test('a source value that breaks its VR (a 20-character Code Value in SH) is left out and reported; the SEG has 0 errors', async () => {
    // The GE series with a Procedure Code Sequence as a de-identified GE series had it: Code Value too long for SH.
    const source = join(dir, 'ge-bad-code');
    mkdirSync(source);
    const files = readdirSync(dicomDir(GE)).map((f) => {
      copyFileSync(join(dicomDir(GE), f), join(source, f));
      return join(source, f);
    });
    const r = spawnSync(
      'dcmodify',
      [
        '-nb',
        '-i',
        '(0008,1032)[0].(0008,0100)=GEHC0123456789ABCDEF',
        '-i',
        '(0008,1032)[0].(0008,0102)=GEHC',
        '-i',
        '(0008,1032)[0].(0008,0104)=MR BRAIN',
        ...files,
      ],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(dciodvfy(files[0]).errors.some((e) => /Code Value .*Length invalid/.test(e))).toBe(true);

    const volume = await importSeries(await scanDicomFolder(source), undefined);
    const maskPath = join(dir, 'bad-code-mask.nii.gz');
    await writeNifti(maskPath, twoStructureMask(volume), { intent: 'label' });
    const out = join(dir, 'bad-code-seg.dcm');
    const cli = neuroverse(['export-seg', '--mask', maskPath, '--reference', source, '--out', out]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stderr).toMatch(
      /source attribute ProcedureCodeSequence \(0008,1032\) left out of the SEG: ProcedureCodeSequence\[1\]\.CodeValue \(SH\): 20 characters, at most 16 allowed/,
    );
    const v = dciodvfy(out);
    expect(v.errors, v.output).toEqual([]);
    expect(readSeg(new Uint8Array(readFileSync(out))).ProcedureCodeSequence).toBeUndefined();

    // The same through the module: the result lists what it dropped.
    const again = await exportSeg(await readNifti(maskPath), maskPath, source, join(dir, 'bad-code-seg-2.dcm'));
    expect(again.dropped).toEqual([
      {
        keyword: 'ProcedureCodeSequence',
        tag: '(0008,1032)',
        action: 'dropped',
        problems: ['ProcedureCodeSequence[1].CodeValue (SH): 20 characters, at most 16 allowed'],
      },
    ]);
  }, 120_000);
});
