// Runs the workstation API's PACS methods inside the test's network namespace (spawned by pacs.test.ts
// through nsenter), against the built dist/. argv: dataDir referenceFolder maskPath port
import { createWorkstation } from '../../dist/main/api/handlers.js';

const [dataDir, reference, maskPath, port] = process.argv.slice(2);
const ws = createWorkstation({ mode: 'headless', version: 'test', dataDir });
await ws.api.pacsSaveNode({ name: 'orthanc', aeTitle: 'ORTHANC', host: '127.0.0.1', port: Number(port) });
await ws.api.pacsEcho('orthanc');
const target = await ws.openPath(reference);
const mask = await ws.openPath(maskPath, { role: 'label' });
const sent = await ws.api.pacsSend('orthanc', target.volume.id, { maskId: mask.volume.id, segments: [{ label: 'Right-Hippocampus', value: 17 }] });
const studies = await ws.api.pacsFind('orthanc', { level: 'STUDY' });
const series = await ws.api.pacsFind('orthanc', { level: 'SERIES', studyInstanceUid: target.volume.source.studyInstanceUid });
const mr = series.find((s) => s.Modality === 'MR');
const retrieved = await ws.api.pacsRetrieve('orthanc', String(studies[0].StudyInstanceUID), String(mr.SeriesInstanceUID));
// A SEG retrieved alone opens on the open image of its series; the whole study opens the image with both SEGs.
const segs = series.filter((s) => s.Modality === 'SEG');
const segAlone = await ws.api.pacsRetrieve('orthanc', String(studies[0].StudyInstanceUID), String(segs[0].SeriesInstanceUID));
const study = await ws.api.pacsRetrieve('orthanc', String(studies[0].StudyInstanceUID));
const voxels = (id, value) => ws.volumes.get(id).data.reduce((n, v) => n + (v === value ? 1 : 0), 0);
const overlay = (v) => ({ role: v.role, labels: v.labels, voxels17: voxels(v.id, 17) });
console.log(
  JSON.stringify({
    sent,
    studies: studies.length,
    modalities: series.map((s) => s.Modality).sort(),
    retrieved: { kind: retrieved.kind, dims: retrieved.volume?.dims, affine: retrieved.volume?.affine },
    original: { dims: target.volume.dims, affine: target.volume.affine },
    maskVoxels17: voxels(mask.volume.id, 17),
    segAlone: { ...overlay(segAlone.volume), more: segAlone.overlays?.length ?? 0 },
    study: { role: study.volume.role, overlays: (study.overlays ?? []).map(overlay), problems: study.problems ?? [] },
  }),
);
