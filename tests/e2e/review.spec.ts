import { expect, test, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startHost, type RunningHost } from './host.js';
import { differingFraction, litFraction, tileImage, tileStats, tilesOf, viewImage } from './pixels.js';

// Reviewing results and curating pairs from files, on the real host with the tiny fixture model (random
// weights: these tests check what the app shows and does, never the quality of a restored image).
const ROOT = resolve(import.meta.dirname, '../..');
const ARTIFACTS = resolve(import.meta.dirname, '../artifacts');
const SAMPLE = join(ROOT, 'resources/sample');
mkdirSync(ARTIFACTS, { recursive: true });

const work = mkdtempSync(join(tmpdir(), 'neuroverse-review-e2e-'));
const models = join(work, 'models');
const dataDir = join(work, 'data');
const files = join(work, 'files');
const SEG_SET = 'hippocampus · from files';
const GEN_SET = 'skull strip · from files';
const LONG_SET = 'skull strip · eight pairs';
let host: RunningHost;

/** A copy of a NIfTI file with another scl_slope: other bytes (a distinct library volume), same grid. */
function rescaled(file: string, slope: number, out: string): string {
  const raw = Buffer.from(gunzipSync(readFileSync(file)));
  raw.writeFloatLE(slope, 112);
  writeFileSync(out, raw);
  return out;
}

/** A 10×10×10 label map on a 1 mm grid: the wrong size for the 181×217×181 sample. */
function smallLabel(out: string): string {
  const header = Buffer.alloc(352);
  header.writeInt32LE(348, 0);
  [3, 10, 10, 10, 1, 1, 1, 1].forEach((d, i) => header.writeInt16LE(d, 40 + 2 * i));
  header.writeInt16LE(2, 70); // uint8
  header.writeInt16LE(8, 72);
  [1, 1, 1, 1].forEach((p, i) => header.writeFloatLE(p, 76 + 4 * i));
  header.writeFloatLE(352, 108);
  header.writeFloatLE(1, 112);
  header.writeInt16LE(1, 254); // sform: scanner
  [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
  ].forEach((row, r) => row.forEach((x, c) => header.writeFloatLE(x, 280 + 16 * r + 4 * c)));
  header.write('n+1\0', 344, 'latin1');
  writeFileSync(out, Buffer.concat([header, Buffer.alloc(1000, 37)]));
  return out;
}

test.beforeAll(() => {
  test.setTimeout(300_000);
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(files, { recursive: true });
  const cli = (...args: string[]) =>
    execFileSync(process.execPath, [join(ROOT, 'bin/neuroverse.js'), ...args], { stdio: 'pipe', env: { ...process.env, NEUROVERSE_DATA_DIR: dataDir } });
  cli('model', 'import', join(ROOT, 'tests/fixtures/engine/tiny.safetensors'), '--out', join(models, 'tiny'), '--grid', '32');
  // A generation set of eight distinct pairs, stored with the CLI: at l = 1 a run takes eight mini-contexts,
  // long enough to cancel in the middle.
  for (let i = 0; i < 8; i++) {
    const image = rescaled(join(SAMPLE, 'colin27_t1.nii.gz'), 1 + i / 100, join(files, `t1-${i}.nii`));
    cli(
      'library',
      'add-pair',
      '--set',
      LONG_SET,
      '--task',
      'skull strip',
      '--kind',
      'generation',
      '--scanner',
      'MNI colin27',
      image,
      join(SAMPLE, 'colin27_t1_brain.nii.gz'),
    );
  }
});

test.beforeAll(async () => {
  host = await startHost([], { dataDir, env: { NEUROVERSE_MODELS: models } });
});

test.afterAll(async () => {
  await host?.stop();
  rmSync(work, { recursive: true, force: true });
});

const viewerVolumes = (page: Page) =>
  page.evaluate(() => (window as unknown as { neuroverseViewer: { volumes(): { name: string; opacity: number }[] } }).neuroverseViewer.volumes());

async function openApp(page: Page) {
  await page.goto(host.url);
  await expect(page.getByTestId('overlay-row')).toHaveCount(1); // Colin27 T1 + AAL, opened by the launcher
  await expect.poll(async () => (await tilesOf(page, 'viewer')).length, { timeout: 180_000 }).toBeGreaterThan(0);
}

test('pairs from files: a wrong-size label is announced before adding, a matching one is not', async ({ page }) => {
  await openApp(page);
  await page.getByTestId('library-new-name').fill(SEG_SET);
  await page.getByTestId('library-task').fill('hippocampus');
  await page.getByTestId('library-labels').fill('37, 38');
  await page.getByTestId('library-scanner').fill('MNI colin27');
  await page.getByTestId('library-source-files').click();
  await page.getByTestId('library-image-file').setInputFiles(join(SAMPLE, 'colin27_t1.nii.gz'));
  await page.getByTestId('library-label-file').setInputFiles(smallLabel(join(files, 'small-label.nii')));
  await expect(page.getByTestId('library-grid-warning')).toContainText("small-label.nii: grid 10×10×10 does not match the image's 181×217×181");
  await expect(page.getByTestId('library-add-files')).toBeDisabled();
  await page.screenshot({ path: resolve(ARTIFACTS, 'review-1-grid-warning.png') });

  await page.getByTestId('library-label-file').setInputFiles(join(SAMPLE, 'colin27_aal.nii.gz'));
  await expect(page.getByTestId('library-grid-ok')).toContainText('181×217×181');
  await expect(page.getByTestId('library-grid-warning')).toHaveCount(0);
  await page.getByTestId('library-add-files').click();
  await expect(page.getByTestId('library-error')).toHaveCount(0);
  const row = page.getByTestId('library-set-row').filter({ hasText: SEG_SET });
  await expect(row.getByTestId('library-pair-count')).toHaveText('1');

  // A generation pair (T1 → skull-stripped T1) from files: the output is an image, any grid-matching one.
  await page.getByTestId('library-set').selectOption('');
  await page.getByTestId('library-new-name').fill(GEN_SET);
  await page.getByTestId('library-kind').selectOption('generate');
  await page.getByTestId('library-task').fill('skull strip');
  await expect(page.getByTestId('library-labels')).toHaveCount(0);
  await page.getByTestId('library-image-file').setInputFiles(join(SAMPLE, 'colin27_t1.nii.gz'));
  await page.getByTestId('library-label-file').setInputFiles(join(SAMPLE, 'colin27_t1_brain.nii.gz'));
  await expect(page.getByTestId('library-grid-ok')).toBeVisible();
  await expect(page.getByTestId('library-grid-warning')).toHaveCount(0);
  await page.getByTestId('library-add-files').click();
  await expect(page.getByTestId('library-set-row').filter({ hasText: GEN_SET }).getByTestId('library-pair-count')).toHaveText('1');
  await page.screenshot({ path: resolve(ARTIFACTS, 'review-2-pairs-from-files.png') });
  // The files were opened only to be stored: they are not in the view, nor in recent files.
  expect((await viewerVolumes(page)).length).toBe(2);
  await expect(page.getByText('small-label.nii')).toHaveCount(0);
});

test('a run shows a progress bar and can be cancelled: a clear cancelled state, no result', async ({ page }) => {
  await openApp(page);
  await page.getByTestId('run-set').selectOption(LONG_SET);
  // Generation runs are aligned affinely by default; this test is about the model's progress, so none.
  await expect(page.getByTestId('run-align')).toHaveValue('affine');
  await page.getByTestId('run-align').selectOption('none');
  await page.getByTestId('run-mini-context').selectOption('1');
  await page.getByTestId('run-device').selectOption('cpu');
  await page.getByTestId('run-button').click();
  await expect(page.getByTestId('run-progress')).toBeVisible();
  // Cancel in the middle: once the first mini-context of eight has been reported.
  await expect(page.getByTestId('run-progress')).toContainText(/mini-context \d\/8/);
  await expect(page.getByTestId('run-progress').locator('progress')).toHaveAttribute('value', /.+/);
  await page.screenshot({ path: resolve(ARTIFACTS, 'review-3-run-progress.png') });
  await page.getByTestId('run-cancel').click();
  await expect(page.getByTestId('run-cancelled')).toHaveText('Run cancelled: no result was made.');
  await expect(page.getByTestId('run-progress')).toHaveCount(0);
  await expect(page.getByTestId('run-cancel')).toHaveCount(0);
  await expect(page.getByTestId('run-error')).toHaveCount(0);
  await expect(page.getByTestId('run-result')).toHaveCount(0);
  await expect(page.getByTestId('run-button')).toBeEnabled();
  expect((await viewerVolumes(page)).length).toBe(2);
  await expect(page.getByTestId('overlay-row')).toHaveCount(1);
  await page.screenshot({ path: resolve(ARTIFACTS, 'review-4-run-cancelled.png') });
});

test('a restored image is reviewed as an overlay, side by side and by swapping', async ({ page }) => {
  test.setTimeout(600_000);
  await openApp(page);
  await page.getByTestId('run-set').selectOption(GEN_SET);
  await expect(page.getByTestId('run-structures')).toHaveCount(0); // generation: no structures
  await page.getByTestId('run-device').selectOption('cpu');
  await page.getByTestId('run-button').click();
  await expect(page.getByTestId('run-result')).toBeVisible({ timeout: 300_000 });
  await expect(page.getByTestId('run-error')).toHaveCount(0);
  // A named device is tried alone; the bundled model has no int8 variant, so int8 cannot be chosen.
  await expect(page.getByTestId('run-provider-attempt')).toHaveText(['CPU used: CPU execution provider']);
  await expect(page.getByTestId('run-precision').locator('option[value="int8"]')).toBeDisabled();
  await expect(page.getByTestId('run-device').locator('option[value="dml"]')).toBeDisabled();
  await expect(page.getByTestId('compare-overlay')).toHaveAttribute('aria-checked', 'true');
  // Overlay: the restored image over the original in a warm colour map.
  await expect.poll(async () => (await viewerVolumes(page)).length).toBe(3);
  await page.getByTestId('overlay-visible').first().uncheck(); // the AAL atlas, so the views show only T1 and result
  await page.waitForTimeout(1000);
  const overlayAxial = (await tileStats(page)).find((t) => t.view === 'axial')!;
  expect(overlayAxial.coloured / overlayAxial.pixels, 'the warm overlay is drawn').toBeGreaterThan(0.05);
  await page.screenshot({ path: resolve(ARTIFACTS, 'review-5-generation-overlay.png') });

  // Side by side: the original alone on the left (no warm overlay), the restored image on the right.
  await page.getByTestId('compare-side-by-side').click();
  await expect(page.getByTestId('compare-canvas')).toBeVisible();
  await expect.poll(async () => (await tilesOf(page, 'compare')).length, { timeout: 180_000 }).toBeGreaterThan(0);
  await expect(page.getByTestId('view-tag')).toHaveText(['original', 'restored']);
  await page.waitForTimeout(1000);
  const left = await tileImage(page, 'axial', 'viewer');
  const right = await tileImage(page, 'axial', 'compare');
  const leftAxial = (await tileStats(page)).find((t) => t.view === 'axial')!;
  expect(leftAxial.coloured / leftAxial.pixels, 'the overlay is off on the original side').toBeLessThan(0.02);
  expect(litFraction(left), 'the original is drawn').toBeGreaterThan(0.1);
  expect(litFraction(right), 'the restored image is drawn').toBeGreaterThan(0.05);
  expect(differingFraction(left, right), 'the two sides show different images').toBeGreaterThan(0.05);
  const canvases = [await page.getByTestId('viewer-canvas').boundingBox(), await page.getByTestId('compare-canvas').boundingBox()];
  expect(canvases[1]!.x, 'side by side: the restored view is to the right').toBeGreaterThanOrEqual(canvases[0]!.x + canvases[0]!.width - 1);
  await page.screenshot({ path: resolve(ARTIFACTS, 'review-6-side-by-side.png') });

  // Running again while side by side: the new result gets its own compare viewer, drawn (a disposed viewer's
  // WebGL context must not be reused).
  await page.getByTestId('run-button').click();
  await expect(page.getByTestId('run-button')).toBeDisabled();
  await expect(page.getByTestId('run-button')).toBeEnabled({ timeout: 300_000 });
  await expect(page.getByTestId('run-error')).toHaveCount(0);
  await expect.poll(async () => (await tilesOf(page, 'compare')).length, { timeout: 180_000 }).toBeGreaterThan(0);
  await page.waitForTimeout(1000);
  expect(litFraction(await tileImage(page, 'axial', 'compare')), 'the second result is drawn side by side').toBeGreaterThan(0.05);

  // Swap: one view; the button and the X key flip between restored and original.
  await page.getByTestId('compare-swap').click();
  await expect(page.getByTestId('compare-showing')).toHaveText('restored');
  await page.waitForTimeout(1000);
  const restored = await viewImage(page);
  await page.screenshot({ path: resolve(ARTIFACTS, 'review-7-swap-restored.png') });
  await page.keyboard.press('x');
  await expect(page.getByTestId('compare-showing')).toHaveText('original');
  await page.waitForTimeout(500);
  const original = await viewImage(page);
  await page.screenshot({ path: resolve(ARTIFACTS, 'review-8-swap-original.png') });
  expect(differingFraction(restored, original), 'swapping changes what is drawn').toBeGreaterThan(0.05);
  await page.getByTestId('compare-swap-button').click();
  await expect(page.getByTestId('compare-showing')).toHaveText('restored');
  await page.waitForTimeout(500);
  expect(differingFraction(restored, await viewImage(page)), 'swapping back shows the restored image again').toBeLessThan(0.01);

  // Back to overlay: one viewer again, with the warm overlay.
  await page.getByTestId('compare-overlay').click();
  await expect(page.getByTestId('compare-canvas')).toHaveCount(0);
  await page.waitForTimeout(1000);
  const again = (await tileStats(page)).find((t) => t.view === 'axial')!;
  expect(again.coloured / again.pixels).toBeGreaterThan(0.05);
});
