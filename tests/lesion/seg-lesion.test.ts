import { join } from 'node:path';
import dcmjs from 'dcmjs';
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { exportSeg } from '../../main/export/seg/index.js';
import { importSeries, scanDicomFolder } from '../../main/imaging/index.js';
import { runProvenance } from '../../main/workflow/provenance.js';
import { twoStructureMask } from '../export/masks.js';
import { ACCEPTED_WARNINGS, dciodvfy } from '../export/validators.js';
import { dicomDir, hasSharedData } from '../helpers/shared-data.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('neuroverse-seg-lesion-');
const GE = 'ge-3d-t1-mprage/In/05_3D_Ax_T1_MP_RAGE_R22';

describe.skipIf(!hasSharedData)('DICOM-SEG of a lesion run', () => {
  test('lesion and tumour segments are coded as morphologically altered structures; the method is named; the SEG validates', async () => {
    const volume = await importSeries(await scanDicomFolder(dicomDir(GE)), undefined);
    const out = join(dir, 'lesion-seg.dcm');
    const provenance = runProvenance('classifier', 'none', null, { name: 'gliomas', pairs: [{ imageSha256: 'a'.repeat(64), labelSha256: 'b'.repeat(64) }] });
    await exportSeg(twoStructureMask(volume), 'mask', dicomDir(GE), out, {
      segments: [
        { label: 'Label 17', value: 17, kind: 'lesion' },
        { label: 'whole tumour', value: 53 },
      ],
      provenance,
    });
    const bytes = readFileSync(out);
    const dict = dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
    const segs = [ds.SegmentSequence].flat();
    const first = (x: unknown) => (Array.isArray(x) ? x[0] : x);
    expect(first(segs[0].SegmentedPropertyCategoryCodeSequence)).toMatchObject({ CodeValue: '49755003', CodingSchemeDesignator: 'SCT' });
    expect(first(segs[0].SegmentedPropertyTypeCodeSequence)).toMatchObject({ CodeValue: '52988006', CodeMeaning: 'Lesion' });
    expect(first(segs[1].SegmentedPropertyTypeCodeSequence)).toMatchObject({ CodeValue: '108369006', CodeMeaning: 'Neoplasm' });
    expect(segs[0].SegmentAlgorithmName).toBe('Neuroverse lesion classifier');
    expect(
      first(first(ds.SegmentationAlgorithmIdentificationSequence ?? segs[0].SegmentationAlgorithmIdentificationSequence)?.AlgorithmFamilyCodeSequence),
    ).toMatchObject({
      CodeValue: 'RUNTIME-GBT',
      CodingSchemeDesignator: '99NEUROVERSE',
    });
    expect([ds.CodingSchemeIdentificationSequence].flat().map((c: { CodingSchemeDesignator: string }) => c.CodingSchemeDesignator)).toContain('99NEUROVERSE');
    const v = dciodvfy(out);
    expect(v.errors).toEqual([]);
    expect(v.warnings.filter((w) => !ACCEPTED_WARNINGS.some((re) => re.test(w)))).toEqual([]);
  });
});
