/**
 * Benchmark (not a test): the deformable registration of a dev-head pair on the region that matters (the
 * default, parameters.ts DEFORMABLE) against the whole heads, and any other settings given, through the app's
 * own registerPair (in this thread: the seconds are one core's). Per setting: seconds (registration, warp) and
 * the single-pair Dice of the warped aseg against the target's own aseg for hippocampus, thalamus, lateral
 * ventricle and putamen. Issue 24 asks that the cropped one stays within 0.01 of the whole-head one.
 *   node dist-scripts/bench/crop-registration.js [--target 01] [--pair 02]
 *        [--settings '[{"cropMarginMm":null,"resolutions":4},{}]'] [--rows docs/results/crop-registration.jsonl]
 * Each setting is merged over DEFORMABLE (null crop margin: whole heads, as before issue 24).
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readNifti } from '../../main/imaging/index.js';
import { DEFORMABLE, OVERRIDES, RESOLUTIONS } from '../../main/registration/parameters.js';
import { registerPair } from '../../main/registration/register-pair.js';
import { projectRoot } from '../../main/settings/paths.js';
import { STRUCTURES } from '../eval/dev-heads.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const FOUR = ['hippocampus', 'thalamus', 'lateral ventricle', 'putamen'];

async function main() {
  const data = resolve(arg('data', join(projectRoot(), '..', 'shared', 'data', 'freesurfer-dev')));
  const t = arg('target', '01');
  const s = arg('pair', '02');
  const settings = JSON.parse(arg('settings', '[{"cropMarginMm":null},{}]')) as Partial<typeof DEFORMABLE>[];
  const rowsFile = resolve(arg('rows', join(projectRoot(), 'docs', 'results', 'crop-registration.jsonl')));
  const target = await readNifti(`${data}/sub-${t}_T1.nii.gz`);
  const truth = await readNifti(`${data}/sub-${t}_aseg.nii.gz`);
  const defaults = { ...DEFORMABLE };
  const work = mkdtempSync(join(tmpdir(), 'nv-crop-bench-'));
  try {
    for (const setting of settings) {
      Object.assign(DEFORMABLE, defaults, setting);
      const outDir = mkdtempSync(join(work, 'pair-'));
      // CPU seconds beside wall-clock ones: on a shared machine the wall clock measures the neighbours too.
      const cpu0 = process.cpuUsage();
      const r = await registerPair(
        {
          mode: 'deformable',
          kind: 'label',
          target: { dims: target.dims, spacing: target.spacing, affine: target.affine, data: target.data, slope: target.slope, intercept: target.intercept },
          image: { file: `${data}/sub-${s}_T1.nii.gz` },
          label: { file: `${data}/sub-${s}_aseg.nii.gz` },
          outDir,
          warpImage: false,
        },
        () => {},
      );
      const cpu = process.cpuUsage(cpu0);
      const warped = await readNifti(join(outDir, 'label.nii.gz'));
      const dice: Record<string, number> = {};
      for (const name of FOUR) {
        const want = new Set(STRUCTURES[name]);
        let a = 0;
        let b = 0;
        let ab = 0;
        for (let i = 0; i < truth.data.length; i++) {
          const x = want.has(warped.data[i]);
          const y = want.has(truth.data[i]);
          if (x) a++;
          if (y) b++;
          if (x && y) ab++;
        }
        dice[name] = Math.round(((2 * ab) / (a + b)) * 10000) / 10000;
      }
      const mean4 = Math.round((FOUR.reduce((acc, n) => acc + dice[n], 0) / 4) * 10000) / 10000;
      const row = {
        target: t,
        pair: s,
        // Whole heads run the affine and B-spline stages in one call with the global settings (RESOLUTIONS, OVERRIDES).
        setting:
          DEFORMABLE.cropMarginMm === null
            ? { cropMarginMm: null, resolutions: RESOLUTIONS, iterations: Number(OVERRIDES.bspline.MaximumNumberOfIterations[0]), samples: 2048 }
            : { ...DEFORMABLE },
        registerSeconds: Math.round(r.value.seconds.register * 10) / 10,
        warpSeconds: Math.round(r.value.seconds.warp * 10) / 10,
        cpuSeconds: Math.round((cpu.user + cpu.system) / 1e5) / 10,
        load: loadavg()[0],
        dice,
        mean4,
        at: new Date().toISOString(),
      };
      appendFileSync(rowsFile, `${JSON.stringify(row)}\n`);
      console.log(JSON.stringify(row));
    }
  } finally {
    Object.assign(DEFORMABLE, defaults);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
