/**
 * The browser host's answer time while a model run is in flight (issue 13): `appInfo` round trips over HTTP,
 * every 25 ms, during a one-click runTask on a real head (target sub-01, the other four dev heads as pairs,
 * thalamus, the bundled model, affine alignment, registrations cached by a first run), with the model on the
 * serving thread (as before) and in its compute worker (now). Not a test: prints one JSON line per mode.
 * Build first (`npm run build:node`), then: node dist-scripts/bench/host-latency.js [--data DIR] [--runs 2]
 *
 * `--mode io`: the same round trips while the host opens real DICOM series (`openPath` on a folder) and while it
 * saves NIfTI .gz (`addLibraryPair` of two open 256³ volumes: both compressed and stored), for this build and,
 * with `--before DIST` (the dist/ folder of an older build), for that one too, in one process:
 * node dist-scripts/bench/host-latency.js --mode io --before /tmp/nv-before/dist [--runs 6]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { decodeMessage, encodeMessage } from '../../main/api/codec.js';
import { createWorkstation } from '../../main/api/handlers.js';
import type { VolumeInfo } from '../../main/api/types.js';
import { startBrowserHost } from '../../main/host/server.js';
import { projectRoot } from '../../main/settings/paths.js';
import type { Workstation } from '../../main/api/handlers.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};

async function measure(modelInProcess: boolean, data: string, runs: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'nv-rtt-'));
  const ws = createWorkstation({ mode: 'browser', version: 'bench', dataDir, modelInProcess });
  const host = await startBrowserHost(ws, join(projectRoot(), 'renderer'));
  const call = hostCaller(host);
  try {
    const open = async (file: string, role: 'image' | 'label') => ((await ws.openPath(file, { role })) as { kind: 'volume'; volume: VolumeInfo }).volume;
    const target = await open(`${data}/sub-01_T1.nii.gz`, 'image');
    for (const s of ['02', '03', '04', '05']) {
      const image = await open(`${data}/sub-${s}_T1.nii.gz`, 'image');
      const label = await open(`${data}/sub-${s}_aseg.nii.gz`, 'label');
      await ws.api.addLibraryPair({
        set: 'dev heads',
        task: { name: 'thalamus', structure: 'thalamus', labels: [10, 49] },
        scanner: 'freesurfer-dev',
        imageVolumeId: image.id,
        labelVolumeId: label.id,
      });
    }
    const request = { targetVolumeId: target.id, contextSet: 'dev heads', method: 'model', align: 'affine', device: 'cpu' };
    await call('runTask', [request]); // registrations cached; the model opened
    const rtts: number[] = [];
    const seconds: number[] = [];
    for (let r = 0; r < runs; r++) {
      let done = false;
      const t0 = performance.now();
      const running = call('runTask', [request]).finally(() => (done = true));
      while (!done) {
        const t = performance.now();
        await call('appInfo', []);
        rtts.push(performance.now() - t);
        await new Promise((ok) => setTimeout(ok, 25));
      }
      await running;
      seconds.push((performance.now() - t0) / 1000);
    }
    rtts.sort((a, b) => a - b);
    const q = (p: number) => Math.round(rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))] * 10) / 10;
    return {
      model: modelInProcess ? 'serving thread' : 'compute worker',
      calls: rtts.length,
      medianMs: q(0.5),
      p95Ms: q(0.95),
      maxMs: q(1),
      runSeconds: seconds.map((s) => Math.round(s * 10) / 10),
    };
  } finally {
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** `appInfo` round trips over HTTP, one every 25 ms, for as long as `work` is in flight. */
async function roundTripsDuring(call: (method: string, args: unknown[]) => Promise<unknown>, work: () => Promise<unknown>, into: number[]): Promise<number> {
  let done = false;
  const t0 = performance.now();
  const running = work().finally(() => (done = true));
  while (!done) {
    const t = performance.now();
    await call('appInfo', []);
    into.push(performance.now() - t);
    await new Promise((ok) => setTimeout(ok, 25));
  }
  await running;
  return (performance.now() - t0) / 1000;
}

function summary(rtts: number[]) {
  rtts.sort((a, b) => a - b);
  const q = (p: number) => Math.round(rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))] * 10) / 10;
  return { calls: rtts.length, medianMs: q(0.5), p95Ms: q(0.95), maxMs: q(1) };
}

type Build = { createWorkstation: typeof createWorkstation; startBrowserHost: typeof startBrowserHost };

/** DICOM opens and NIfTI .gz saves with one build's workstation behind the host. */
async function measureIo(build: Build, name: string, dicom: string[], heads: string, runs: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'nv-rtt-io-'));
  const ws: Workstation = build.createWorkstation({ mode: 'browser', version: 'bench', dataDir });
  const host = await build.startBrowserHost(ws, join(projectRoot(), 'renderer'));
  const call = hostCaller(host);
  const rows = [];
  try {
    for (const dir of dicom) {
      const rtts: number[] = [];
      const seconds: number[] = [];
      // A first open warms the code paths (and, after, starts the decode worker) before anything is counted.
      for (let r = 0; r <= runs; r++) {
        let id = '';
        const s = await roundTripsDuring(
          call,
          async () => (id = ((await ws.openPath(dir, { remember: false })) as { volume: VolumeInfo }).volume.id),
          r ? rtts : [],
        );
        await ws.api.closeVolume(id);
        if (r) seconds.push(Math.round(s * 100) / 100);
      }
      rows.push({ build: name, work: `open DICOM ${dir.split('/').slice(-3).join('/')}`, ...summary(rtts), seconds, loadavg: load() });
    }
    const open = async (file: string, role: 'image' | 'label') => ((await ws.openPath(file, { role, remember: false })) as { volume: VolumeInfo }).volume;
    const image = await open(`${heads}/sub-02_T1.nii.gz`, 'image');
    const label = await open(`${heads}/sub-02_aseg.nii.gz`, 'label');
    const rtts: number[] = [];
    const seconds: number[] = [];
    for (let r = 0; r <= runs; r++) {
      const add = () =>
        ws.api.addLibraryPair({
          set: `bench ${r}`,
          task: { name: 'thalamus', structure: 'thalamus', labels: [10, 49] },
          scanner: 'freesurfer-dev',
          imageVolumeId: image.id,
          labelVolumeId: label.id,
        });
      const s = await roundTripsDuring(call, add, r ? rtts : []);
      if (r) seconds.push(Math.round(s * 100) / 100);
    }
    rows.push({ build: name, work: 'save NIfTI .gz (addLibraryPair, 256³ uint8 T1 + aseg)', ...summary(rtts), seconds, loadavg: load() });
  } finally {
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return rows;
}

function hostCaller(host: { url: string; token: string }) {
  return async (method: string, args: unknown[]) => {
    const res = await fetch(`${host.url}api/call/${method}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${host.token}` },
      body: new Uint8Array(encodeMessage(args)),
    });
    const reply = decodeMessage(new Uint8Array(await res.arrayBuffer())) as { ok: boolean; value?: unknown; error?: { message: string } };
    if (!reply.ok) throw new Error(`${method}: ${reply.error?.message}`);
    return reply.value;
  };
}

const load = () => loadavg().map((x) => Math.round(x * 100) / 100);

async function main() {
  const data = resolve(arg('data', join(projectRoot(), '..', 'shared', 'data', 'freesurfer-dev')));
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, loadavg: load() };
  if (arg('mode', 'model') === 'io') {
    const runs = Number(arg('runs', '6'));
    const dicomRoot = join(projectRoot(), '..', 'shared', 'data', 'dicom');
    const dicom = arg('dicom', 'ge-3d-t1-mprage/In/05_3D_Ax_T1_MP_RAGE_R22,philips-3d-t1-gzipped/In/cl,siemens-xa30-enhanced/In/5_anat-T1w_acq-tfl')
      .split(',')
      .map((d) => resolve(dicomRoot, d));
    const builds: [string, Build][] = [];
    const before = process.argv.includes('--before') ? resolve(arg('before', '')) : null;
    if (before) {
      const api = (await import(pathToFileURL(join(before, 'main', 'api', 'handlers.js')).href)) as Build;
      const server = (await import(pathToFileURL(join(before, 'main', 'host', 'server.js')).href)) as Build;
      builds.push([`before (${before})`, { createWorkstation: api.createWorkstation, startBrowserHost: server.startBrowserHost }]);
    }
    builds.push(['after (this build)', { createWorkstation, startBrowserHost }]);
    for (const [name, build] of builds) for (const row of await measureIo(build, name, dicom, data, runs)) console.log(JSON.stringify({ ...row, machine }));
    process.exit(0);
  }
  const runs = Number(arg('runs', '2'));
  for (const inProcess of [true, false]) console.log(JSON.stringify({ ...(await measure(inProcess, data, runs)), machine }));
  process.exit(0);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
