import dcmjs from 'dcmjs';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dicomDir } from './shared-data.js';

const GE = 'ge-3d-t1-mprage/In/05_3D_Ax_T1_MP_RAGE_R22';

/**
 * A series that makes two volumes, built from a real one: `slices` slices of GE's 3D T1 (../shared/data), each
 * written twice in the same series, once as echo 1 and once as echo 2 at half the signal (new SOP instance UIDs,
 * the scanner's standard elements kept). dcm2niix splits it by echo ("…_e1", "…_e2"), as it does a real dual-echo
 * series; which volume was opened shows in the values. Returns the folder.
 */
export function twoEchoSeries(dir: string, slices = 8): string {
  mkdirSync(dir, { recursive: true });
  const files = readdirSync(dicomDir(GE)).map((f) => readFileSync(join(dicomDir(GE), f)));
  const read = (b: Buffer) => dcmjs.data.DicomMessage.readFile(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
  const el = (d: Record<string, unknown>, tag: string) => d[tag] as { vr: string; Value: unknown[] };
  const instance = (b: Buffer) => Number(el(read(b).dict, '00200013').Value[0]);
  const numbered = files.map((b) => ({ b, n: instance(b) })).sort((x, y) => x.n - y.n);
  const middle = numbered.slice(numbered.length / 2 - slices / 2, numbered.length / 2 + slices / 2);
  let k = 0;
  for (const echo of [1, 2])
    for (const { b } of middle) {
      // Read again for each echo: the written copy is edited in place.
      const d = read(b);
      // GE's private elements come back without their VRs and dcmjs cannot write them again; no reader needs them.
      for (const tag of Object.keys(d.dict)) if (parseInt(tag.slice(0, 4), 16) % 2 === 1) delete d.dict[tag];
      const sop = dcmjs.data.DicomMetaDictionary.uid();
      el(d.meta, '00020003').Value = [sop];
      el(d.dict, '00080018').Value = [sop];
      el(d.dict, '00200013').Value = [++k];
      d.dict['00180086'] = { vr: 'IS', Value: [echo] };
      d.dict['00180081'] = { vr: 'DS', Value: [echo === 1 ? 3 : 12] };
      if (echo === 2) {
        const signed = el(d.dict, '00280103').Value[0] === 1;
        const pixels = el(d.dict, '7FE00010');
        const px = signed ? new Int16Array(pixels.Value[0] as ArrayBuffer) : new Uint16Array(pixels.Value[0] as ArrayBuffer);
        for (let i = 0; i < px.length; i++) px[i] >>= 1;
      }
      writeFileSync(join(dir, `${String(k).padStart(3, '0')}.dcm`), Buffer.from(d.write()));
    }
  return dir;
}
