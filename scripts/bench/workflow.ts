/**
 * One-click run time on the bundled sample (issue 5). Not a test: prints one JSON line per run.
 * Build first (`npm run build:node`), then:
 *   node dist-scripts/bench/workflow.js [--model DIR | --grid G] [--Ls 4,8] [--l auto|N] [--repeat 2] [--device cpu]
 * Without --model it imports the committed tiny fixture checkpoint with the real importer at grid G
 * (default: the importer's default grid). Sets of L distinct pairs are built from the sample (the Colin27 T1,
 * intensities scaled per pair, with the AAL atlas; task hippocampus 37/38) through the same API the
 * renderer uses, and each run is timed around api.runTask: the first run of a process includes creating
 * the ONNX Runtime sessions ("cold"), later ones reuse them ("warm").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createWorkstation } from '../../main/api/handlers.js';
import { importCheckpoint } from '../../main/engine/index.js';
import type { Volume } from '../../main/imaging/volume.js';

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

function scaled(v: Volume, f: number): Volume {
  const data = new Float32Array(v.data.length);
  for (let i = 0; i < data.length; i++) data[i] = (v.data[i] * v.slope + v.intercept) * f;
  return { ...v, data, slope: 1, intercept: 0 };
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'nv-bench-workflow-'));
  try {
    const Ls = (arg('Ls', '4,8') as string).split(',').map(Number);
    const l = arg('l', 'auto')!;
    const repeat = Number(arg('repeat', '2'));
    const device = arg('device', 'auto') as 'auto' | 'cpu' | 'cuda';
    const dataDir = join(work, 'data');
    let modelDir = arg('model');
    if (!modelDir) {
      const g = arg('grid');
      modelDir = join(dataDir, 'models', 'tiny');
      const fixture = fileURLToPath(new URL('../../tests/fixtures/engine/tiny.safetensors', import.meta.url));
      await importCheckpoint(fixture, modelDir, g ? { grid: [Number(g), Number(g), Number(g)] } : {});
    } else {
      process.env.NEUROVERSE_MODELS = join(modelDir, '..');
    }
    const ws = createWorkstation({ mode: 'headless', version: 'bench', dataDir });
    const [t1, aal] = await ws.api.openSample();
    const model = (await ws.api.listModels())[0];
    const maxL = Math.max(...Ls);
    const images = [t1.id];
    for (let k = 1; k < maxL; k++) images.push(ws.volumes.add(scaled(ws.volumes.get(t1.id), 1 + k / 50), `colin27 ×${1 + k / 50}`, 'image').id);
    for (const L of Ls) {
      for (let k = 0; k < L; k++) {
        await ws.api.addLibraryPair({
          set: `bench-L${L}`,
          task: { name: 'hippocampus', labels: [37, 38] },
          scanner: 'colin27',
          imageVolumeId: images[k],
          labelVolumeId: aal.id,
        });
      }
    }
    const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memGB: Math.round(totalmem() / 2 ** 30) };
    let run = 0;
    for (const L of Ls) {
      for (let r = 0; r < repeat; r++) {
        const load = loadavg()[0];
        const t = performance.now();
        const res = await ws.api.runTask({
          targetVolumeId: t1.id,
          contextSet: `bench-L${L}`,
          model: model.id,
          miniContext: l === 'auto' ? 'auto' : Number(l),
          device,
        });
        const wall = (performance.now() - t) / 1000;
        console.log(
          JSON.stringify({
            L,
            l: res.miniContext,
            miniContexts: res.miniContexts,
            run: run++ === 0 ? 'cold' : 'warm',
            wallSeconds: Math.round(wall * 100) / 100,
            seconds: res.seconds,
            provider: res.provider,
            model: `${model.name} grid ${model.grid.join('×')}`,
            loadavg1: Math.round(load * 100) / 100,
            machine,
          }),
        );
        await ws.api.closeVolume(res.volumeId);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
