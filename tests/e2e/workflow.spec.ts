import { expect, test, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readNifti, writeNifti } from '../../main/imaging/index.js';
import { testVolume } from '../helpers/volumes.js';
import { DIMS, syntheticCase } from '../lesion/synthetic.js';
import { startHost, type RunningHost } from './host.js';
import { tileStats, tiles } from './pixels.js';

const ROOT = resolve(import.meta.dirname, '../..');
const ARTIFACTS = resolve(import.meta.dirname, '../artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

// The bundled default model (resources/models/default), found the way `npm start` finds it. This test checks the
// workflow (overlay, volume, brush, library, restart); the model's quality is measured by its evaluation card
// (native-models: evaluate.py in PyTorch, app_eval.py through the app's CLI).
const work = mkdtempSync(join(tmpdir(), 'neuroverse-workflow-e2e-'));
const dataDir = join(work, 'data');
const BUNDLED = join(ROOT, 'resources/models/default');
const SET = 'hippocampus · colin27';
let host: RunningHost | undefined;

test.beforeAll(() => {
  mkdirSync(dataDir, { recursive: true });
  // The package must load (every graph's sha256 checked) before the UI is asked to use it.
  execFileSync(process.execPath, [join(ROOT, 'bin/neuroverse.js'), 'model', 'info', BUNDLED], { stdio: 'pipe' });
});

test.afterAll(async () => {
  await host?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** The axial tile in page coordinates (the viewer reports tiles relative to its canvas). */
async function axialTile(page: Page) {
  const canvas = (await page.getByTestId('viewer-canvas').boundingBox())!;
  const t = (await tiles(page)).find((x) => x.view === 'axial')!;
  return { left: canvas.x + t.left, top: canvas.y + t.top, width: t.width, height: t.height };
}

test('library set from the sample, one-click run, brush correction, add to library, found after a restart', async ({ page }) => {
  test.setTimeout(600_000);
  host = await startHost([], { dataDir, env: { NEUROVERSE_MODELS: '' } });
  await page.goto(host.url);
  await expect(page.getByTestId('overlay-row')).toHaveCount(1); // the launcher opened Colin27 T1 + AAL
  await expect.poll(() => host!.output.join(''), { timeout: 180_000 }).toMatch(/first frame drawn/);

  // 1. A new set from the open image and the AAL overlay (37/38: left/right hippocampus).
  await page.getByTestId('library-new-name').fill(SET);
  await page.getByTestId('library-task').fill('hippocampus');
  await page.getByTestId('library-labels').fill('37, 38');
  await page.getByTestId('library-scanner').fill('MNI colin27');
  await page.getByTestId('library-add-pair').click();
  await expect(page.getByTestId('library-set-name')).toHaveText([SET]);
  await expect(page.getByTestId('library-pair-count')).toHaveText(['1']);
  await expect(page.getByTestId('library-thumb')).toBeVisible();
  // Adding the same pair again is refused with the library's message, shown in the panel.
  await page.getByTestId('library-add-pair').click();
  await expect(page.getByTestId('library-error')).toContainText('already in set');
  await page.screenshot({ path: resolve(ARTIFACTS, 'workflow-1-library-set.png') });

  // 2. One click with the defaults: the pair is registered to the target (deformable) and its labels voted.
  await expect(page.getByTestId('run-model')).toHaveValue('default');
  // The bundled model's evaluation card, as measured, is shown with it.
  await expect(page.getByTestId('run-model-card')).toContainText(/Real T1 heads with skull .*model \d\.\d\d .*atlas vote \d\.\d\d/);
  // ... and beside it the model against atlas vote on real heads, as measured through the CLI.
  await expect(page.getByTestId('run-model-card-real')).toContainText('Real heads: model vs atlas vote');
  await expect(page.getByTestId('run-model-card-real')).toContainText('vote · deformable');
  // ... and by context size, with times.
  await expect(page.getByTestId('run-model-card-sizes')).toContainText('model · affine');
  await expect(page.getByTestId('run-set')).toHaveValue(SET);
  await expect(page.getByTestId('run-structures')).toHaveValue('hippocampus: 37 38');
  await expect(page.getByTestId('run-method')).toHaveValue('jlf');
  await expect(page.getByTestId('run-align')).toHaveValue('affine');
  await expect(page.getByTestId('run-align-estimate')).toContainText(/aligning 1 pair: up to ~\d+ s/);
  await page.getByTestId('run-button').click();
  await expect(page.getByTestId('run-progress')).toContainText(/align/i);
  await expect(page.getByTestId('run-result')).toBeVisible({ timeout: 400_000 });
  await expect(page.getByTestId('run-error')).toHaveCount(0);
  await expect(page.getByTestId('run-volume-ml')).toHaveText(/^\d+\.\d\d mL$/);
  await expect(page.getByTestId('run-method-used')).toHaveText('joint label fusion');
  await expect(page.getByTestId('run-align-used')).toHaveText('affine');
  await expect(page.getByTestId('run-details')).toContainText('L = 1');
  await expect(page.getByTestId('overlay-row')).toHaveCount(2); // the AAL atlas + the result
  // The result is drawn as a third volume (its grid equals the target's: checked in tests/workflow).
  const volumes = await page.evaluate(() => (window as unknown as { neuroverseViewer: { volumes(): { name: string }[] } }).neuroverseViewer.volumes());
  expect(volumes.map((v) => v.name)).toEqual([expect.any(String), expect.any(String), `hippocampus · ${SET}`]);
  await page.getByTestId('run-opacity').fill('0.8');
  await page.screenshot({ path: resolve(ARTIFACTS, 'workflow-2-result-overlay.png') });

  // 3. Correct with the brush on the axial view (AAL hidden so the drawing is what is seen), undo/redo.
  await page.getByTestId('overlay-visible').first().uncheck();
  await page.getByTestId('correct-start').click();
  await expect(page.getByTestId('correct-undo')).toBeDisabled();
  const before = (await tileStats(page)).find((t) => t.view === 'axial')!;
  const ax = await axialTile(page);
  const stroke = async (y: number) => {
    await page.mouse.move(ax.left + ax.width * 0.35, ax.top + ax.height * y);
    await page.mouse.down();
    await page.mouse.move(ax.left + ax.width * 0.65, ax.top + ax.height * y, { steps: 15 });
    await page.mouse.up();
  };
  await stroke(0.45);
  await stroke(0.5);
  await expect(page.getByTestId('correct-undo')).toBeEnabled();
  await page.getByTestId('correct-undo').click();
  await expect(page.getByTestId('correct-redo')).toBeEnabled();
  await page.getByTestId('correct-redo').click();
  await expect(page.getByTestId('correct-redo')).toBeDisabled();
  await page.waitForTimeout(1000);
  const after = (await tileStats(page)).find((t) => t.view === 'axial')!;
  expect(after.coloured, 'brush strokes are drawn on the axial view').toBeGreaterThan(before.coloured);
  await page.screenshot({ path: resolve(ARTIFACTS, 'workflow-3-brush-correction.png') });

  // 4. Add to library: the drawing travels to the services as NIfTI bytes and becomes pair 2 of the set.
  await page.getByTestId('correct-add').click();
  await expect(page.getByTestId('correct-saved')).toContainText(`of “${SET}”`);
  const saved = (await page.getByTestId('correct-saved').textContent())!;
  const ml = Number(/hippocampus (\d+\.\d+) mL/.exec(saved)?.[1]);
  expect(ml, 'the corrected mask holds the brushed voxels').toBeGreaterThan(0);
  await expect(page.getByTestId('library-pair-count')).toHaveText(['2']);
  await page.screenshot({ path: resolve(ARTIFACTS, 'workflow-4-added-to-library.png') });

  // 5. Restart the app on the same data folder: the set and both pairs are there.
  await host.stop();
  host = await startHost([], { dataDir, env: { NEUROVERSE_MODELS: '' } });
  await page.goto(host.url);
  await expect(page.getByTestId('library-set-name')).toHaveText([SET]);
  await expect(page.getByTestId('library-pair-count')).toHaveText(['2']);
  await page.getByTestId('library-set-name').click();
  await expect(page.getByTestId('library-pair')).toHaveCount(2);
  await page.screenshot({ path: resolve(ARTIFACTS, 'workflow-5-after-restart.png') });

  // 6. A removed pair waits in the trash and can be restored.
  await page.getByTestId('library-remove').last().click();
  await expect(page.getByTestId('library-pair-count')).toHaveText(['1']);
  await expect(page.getByTestId('library-trash-count')).toHaveText('1');
  await page.getByTestId('library-trash-toggle').click();
  await page.getByTestId('library-restore').click();
  await expect(page.getByTestId('library-trash-count')).toHaveText('0');
  await expect(page.getByTestId('library-pair-count')).toHaveText(['2']);

  // 7. The context chosen for this target: both pairs ranked after affine alignment, the best one used and listed;
  // then the user's own choice (both pairs ticked) overrides it.
  await page.getByTestId('run-method').selectOption('vote');
  await page.getByTestId('run-align').selectOption('affine');
  await page.getByTestId('run-context-choice').selectOption('1');
  await page.getByTestId('run-button').click();
  await expect(page.getByTestId('run-context-chosen')).toBeVisible({ timeout: 300_000 });
  await expect(page.getByTestId('run-error')).toHaveCount(0);
  await expect(page.getByTestId('run-context-chosen')).toContainText('1 of 2 pairs');
  await expect(page.getByTestId('run-context-pair')).toHaveCount(2);
  await expect(page.getByTestId('run-details')).toContainText('L = 1');
  const picks = page.getByTestId('run-context-pick');
  await expect(picks.nth(0)).toBeChecked();
  await expect(picks.nth(1)).not.toBeChecked();
  await page.screenshot({ path: resolve(ARTIFACTS, 'workflow-7-context-chosen.png') });
  await picks.nth(1).check();
  await page.getByTestId('run-context-choice').selectOption('picked');
  await page.getByTestId('run-button').click();
  await expect(page.getByTestId('run-details')).toContainText('L = 2', { timeout: 300_000 });
  await expect(page.getByTestId('run-context-chosen')).toHaveCount(0);
  // The two labels disagree where the brush painted: the doubt map joins the view as its own overlay, with its own opacity.
  await expect(page.getByTestId('run-doubt')).toContainText(/hippocampus \d+\.\d mL/);
  const doubtRow = page.getByTestId('overlay-row').filter({ hasText: 'doubt ·' });
  await expect(doubtRow).toHaveCount(1);
  await doubtRow.getByTestId('overlay-opacity').fill('0.3');
  await expect
    .poll(() =>
      page.evaluate(() => (window as unknown as { neuroverseViewer: { volumes(): { opacity: number }[] } }).neuroverseViewer.volumes().at(-1)!.opacity),
    )
    .toBeCloseTo(0.3, 5);
  await page.screenshot({ path: resolve(ARTIFACTS, 'workflow-8-doubt-overlay.png') });

  // 9. The worklist: the open scan ticked and run with the set (affine vote: its registrations are cached by now),
  // a row with its volume, the CSV offered, and the result opened for review over its scan.
  await page.getByRole('button', { name: 'Refresh the list' }).click();
  const scans = page.getByTestId('worklist-scans').getByRole('checkbox');
  await expect(scans.first()).toBeVisible();
  await scans.first().check();
  await page.getByTestId('worklist-set').selectOption(SET);
  await page.getByTestId('worklist-method').selectOption('vote');
  await page.getByTestId('worklist-align').selectOption('affine');
  await page.getByTestId('worklist-run').click();
  await expect(page.getByTestId('worklist-summary')).toHaveText('1 of 1 scans done', { timeout: 300_000 });
  await expect(page.getByTestId('worklist-table')).toContainText(/hippocampus \d+\.\d\d/);
  await expect(page.getByTestId('worklist-csv')).toBeVisible();
  await page.getByTestId('worklist-table').getByRole('button', { name: 'Review' }).click();
  await expect(page.getByTestId('run-result')).toBeVisible();
  await expect(page.getByTestId('run-align-used')).toHaveText('affine');
  await page.screenshot({ path: resolve(ARTIFACTS, 'workflow-9-worklist.png') });
});

test('a denoise set: the Run panel preselects the measured default restoration, and the run uses it', async ({ page }) => {
  test.setTimeout(600_000);
  // One (noisy, clean) example: the sample T1 with Rician noise (σ 5 % of its 99th percentile, fixed seed) → the T1.
  const clean = join(ROOT, 'resources/sample/colin27_t1.nii.gz');
  const noisy = join(work, 'colin27_t1_noisy.nii.gz');
  const v = await readNifti(clean);
  const values = Float32Array.from(v.data as ArrayLike<number>, (x) => x * v.slope + v.intercept);
  const sigma = 0.05 * values.slice().sort()[Math.floor(0.99 * (values.length - 1))];
  let seed = 7;
  const uniform = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  const gauss = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  await writeNifti(noisy, {
    ...v,
    data: values.map((x) => Math.hypot(x + sigma * gauss(), sigma * gauss())),
    slope: 1,
    intercept: 0,
    source: { kind: 'memory' },
  });

  const denoiseHost = await startHost([], { dataDir: join(work, 'data-denoise'), env: { NEUROVERSE_MODELS: '' } });
  try {
    await page.goto(denoiseHost.url);
    await expect(page.getByTestId('overlay-row')).toHaveCount(1);
    await page.getByTestId('library-new-name').fill('denoise · colin27');
    await page.getByTestId('library-kind').selectOption('generate');
    await page.getByTestId('library-task').fill('denoise');
    await page.getByTestId('library-scanner').fill('MNI colin27');
    await page.getByTestId('library-source-files').click();
    await page.getByTestId('library-image-file').setInputFiles(noisy);
    await page.getByTestId('library-label-file').setInputFiles(clean);
    await expect(page.getByTestId('library-grid-ok')).toBeVisible();
    await page.getByTestId('library-add-files').click();
    await expect(page.getByTestId('library-pair-count')).toHaveText(['1']);

    // The set's default by the CLI's rule (its task name): non-local means, no alignment; the model and the other
    // restoration offered beside it; the measured table from the model's card.
    await page.getByTestId('run-set').selectOption('denoise · colin27');
    await expect(page.getByTestId('run-method')).toHaveValue('nlm');
    await expect(page.getByTestId('run-method').locator('option')).toHaveText(['non-local means (default)', 'bias-field correction', 'model']);
    await expect(page.getByTestId('run-align')).toHaveValue('none');
    await expect(page.getByTestId('run-model-card-restoration')).toContainText('Restoration on real heads: gain over the input');
    await expect(page.getByTestId('run-model-card-restoration')).toContainText(/noise\s*default \(nlm\)\s*\d+\s*\+\d\.\d\d/);
    await page.getByTestId('run-model').scrollIntoViewIfNeeded();
    await page.screenshot({ path: resolve(ARTIFACTS, 'workflow-10-denoise-default.png') });
    await page.getByTestId('run-button').click();
    await expect(page.getByTestId('run-result')).toBeVisible({ timeout: 500_000 });
    await expect(page.getByTestId('run-error')).toHaveCount(0);
    await expect(page.getByTestId('run-method-used')).toHaveText('non-local means');
    // Chosen as the default (not named: the guard may refuse it), and applied: it brought the example closer.
    await expect(page.getByTestId('run-restoration')).toContainText(
      'Restored by non-local means (the task\'s name ("denoise")); examples: non-local means brought every',
    );
    await expect(page.getByTestId('run-qc')).toHaveCount(0);
    // The restored image joins the view beside the T1 and the AAL atlas.
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { neuroverseViewer: { volumes(): unknown[] } }).neuroverseViewer.volumes().length))
      .toBe(3);
    await page.screenshot({ path: resolve(ARTIFACTS, 'workflow-11-denoise-result.png') });
  } finally {
    await denoiseHost.stop();
  }
});

test('a lesion set made in the Library panel runs with the lesion default and counts the lesions', async ({ page }) => {
  test.setTimeout(600_000);
  // The synthetic lesion case (tests/lesion/synthetic.ts): two examples with a bright blob each, and a target with one
  // elsewhere, in other intensity units.
  const file = (name: string) => join(work, `lesion-${name}.nii.gz`);
  const examples = [syntheticCase([{ at: [12, 14, 12], radius: 5 }], 1), syntheticCase([{ at: [26, 25, 19], radius: 4 }], 2, { scale: 3, offset: 40 })];
  for (const [i, c] of examples.entries()) {
    await writeNifti(file(`${i}-flair`), testVolume(DIMS, c.image.channels[0]));
    await writeNifti(file(`${i}-mask`), testVolume(DIMS, c.label), { intent: 'label' });
  }
  const target = syntheticCase([{ at: [15, 27, 18], radius: 5 }], 3, { scale: 0.5, offset: 0 });
  await writeNifti(file('target'), testVolume(DIMS, target.image.channels[0]));

  const lesionHost = await startHost([], { dataDir: join(work, 'data-lesion'), env: { NEUROVERSE_MODELS: '' } });
  try {
    await page.goto(lesionHost.url);
    await expect(page.getByTestId('overlay-row')).toHaveCount(1);
    await page.getByTestId('file-input').setInputFiles(file('target'));
    await expect(page.getByText(DIMS.join('×')).first()).toBeVisible();

    await page.getByTestId('library-new-name').fill('glioma · synthetic');
    await page.getByTestId('library-task').fill('tumour');
    await page.getByTestId('library-labels').fill('1');
    await page.getByTestId('library-lesion').check();
    await page.getByTestId('library-scanner').fill('synthetic');
    await page.getByTestId('library-source-files').click();
    for (const i of [0, 1]) {
      await page.getByTestId('library-image-file').setInputFiles(file(`${i}-flair`));
      await page.getByTestId('library-label-file').setInputFiles(file(`${i}-mask`));
      await expect(page.getByTestId('library-grid-ok')).toBeVisible();
      await page.getByTestId('library-add-files').click();
      await expect(page.getByTestId('library-pair-count')).toHaveText([String(i + 1)]);
    }
    await expect(page.getByTestId('library-set-lesion')).toHaveText(['lesion']);

    // The lesion methods, the classifier preselected; no alignment to choose.
    await page.getByTestId('run-set').selectOption('glioma · synthetic');
    await expect(page.getByTestId('run-method')).toHaveValue('classifier');
    await expect(page.getByTestId('run-method').locator('option')).toHaveText(['classifier (default)', 'threshold (baseline)']);
    await expect(page.getByTestId('run-align')).toHaveCount(0);
    await expect(page.getByTestId('run-lesion-note')).toBeVisible();
    await page.getByTestId('run-button').click();
    await expect(page.getByTestId('run-result')).toBeVisible({ timeout: 300_000 });
    await expect(page.getByTestId('run-error')).toHaveCount(0);
    await expect(page.getByTestId('run-lesion-count')).toContainText(/^1 lesion, total \d+\.\d\d mL/);
    await expect(page.getByTestId('run-lesion')).toHaveCount(1);
    await expect(page.getByTestId('run-method-used')).toHaveText('classifier');
    await expect(page.getByTestId('run-align-used')).toHaveText('none');
    await expect(page.getByTestId('run-qc')).toHaveCount(0);
    await page.screenshot({ path: resolve(ARTIFACTS, 'workflow-12-lesion-result.png') });
  } finally {
    await lesionHost.stop();
  }
});
