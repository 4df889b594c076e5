import { expect, test } from '@playwright/test';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startHost, type RunningHost } from './host.js';
import { tileStats } from './pixels.js';
import { twoEchoSeries } from '../helpers/two-echoes.js';

const ARTIFACTS = resolve(import.meta.dirname, '../artifacts');
const SHARED = resolve(import.meta.dirname, '../../../shared/data/dicom');
const ROOT = resolve(import.meta.dirname, '../..');

let host: RunningHost;
test.beforeAll(async () => {
  host = await startHost();
});
test.afterAll(async () => {
  await host?.stop();
});

const volumes = (page: import('@playwright/test').Page) =>
  page.evaluate(() =>
    (
      window as unknown as { neuroverseViewer: { volumes(): { name: string; opacity: number; dims: number[]; calMin: number; calMax: number }[] } }
    ).neuroverseViewer.volumes(),
  );

test('window/level and overlay opacity change what is drawn', async ({ page }) => {
  await page.goto(host.url);
  await expect.poll(async () => (await volumes(page)).length, { timeout: 180_000 }).toBe(2);
  await page.getByTestId('wl-width').fill('40');
  await expect
    .poll(async () => {
      const v = (await volumes(page))[0];
      return v.calMax - v.calMin;
    })
    .toBeCloseTo(40, 0);
  await expect(page.getByTestId('wl-values')).toContainText('window');
  await page.getByTestId('overlay-opacity').fill('0');
  await expect.poll(async () => (await volumes(page))[1].opacity).toBe(0);
  await page.waitForTimeout(1000);
  const stats = await tileStats(page);
  // With the overlay fully transparent the slices are grey (only the thin crosshair has colour).
  for (const t of stats.filter((s) => s.view !== 'render')) expect(t.coloured / t.pixels).toBeLessThan(0.02);
});

test('bad files give a one-line error naming the file', async ({ page }) => {
  await page.goto(host.url);
  await expect(page.getByTestId('open-file')).toBeEnabled();
  const dir = mkdtempSync(join(tmpdir(), 'neuroverse-e2e-bad-'));
  const raw = gunzipSync(readFileSync(join(ROOT, 'resources/sample/colin27_t1.nii.gz')));
  const bad = join(dir, 'half-scan.nii');
  writeFileSync(bad, raw.subarray(0, raw.length >> 1));
  await page.getByTestId('file-input').setInputFiles(bad);
  await expect(page.getByTestId('error')).toContainText('half-scan.nii: truncated: the header promises 181×217×181 voxels');

  // Dropping a file with Shift adds it as an overlay on the open image.
  const overlaysBefore = await page.getByTestId('overlay-row').count();
  const bytes = [...readFileSync(join(ROOT, 'resources/sample/colin27_t1_brain.nii.gz'))];
  await page.evaluate((data) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(data)], 'dropped_brain.nii.gz'));
    const target = document.querySelector('.shell')!;
    target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true, shiftKey: true }));
  }, bytes);
  await expect(page.getByTestId('overlay-row')).toHaveCount(overlaysBefore + 1);
  await expect(page.getByTestId('overlay-row').last()).toContainText('dropped_brain.nii.gz');
});

test('a DICOM folder with two series: pick one, see it, find it in recent files', async ({ page }) => {
  test.skip(!existsSync(SHARED), 'shared DICOM data not present');
  await page.goto(host.url);
  await expect(page.getByTestId('open-folder')).toBeEnabled();
  await page.getByTestId('folder-input').setInputFiles(join(SHARED, 'siemens-xa30-enhanced/In'));
  const picker = page.getByTestId('series-picker');
  await expect(picker).toContainText('holds 2 series');
  await picker.getByTestId('pick-series').nth(1).click();
  await expect(page.getByText('96×128×128').or(page.getByText('128×128×96')).or(page.getByText('128×96×128')).first()).toBeVisible({ timeout: 120_000 });
  await page.waitForTimeout(1500);
  for (const t of await tileStats(page)) expect(t.lit / t.pixels, `${t.view} is blank`).toBeGreaterThan(0.03);
  await page.screenshot({ path: resolve(ARTIFACTS, 'dicom-enhanced-series6.png') });
  await expect(page.getByTestId('recent-files')).toContainText('In · #6');
});

test('a series that makes two volumes: each is offered, and the one picked is the one opened', async ({ page }) => {
  test.skip(!existsSync(SHARED), 'shared DICOM data not present');
  const dir = twoEchoSeries(join(mkdtempSync(join(tmpdir(), 'neuroverse-e2e-echoes-')), 'echoes'));
  await page.goto(host.url);
  await expect(page.getByTestId('open-folder')).toBeEnabled();
  await page.getByTestId('folder-input').setInputFiles(dir);
  const picker = page.getByTestId('series-picker');
  await expect(picker).toContainText('holds 1 series (2 volumes)');
  await expect(picker).toContainText('— e1 (1 of 2)');
  await expect(picker).toContainText('— e2 (2 of 2)');
  await picker.getByTestId('pick-series').nth(1).click();
  await expect(page.getByText('256×256×8').first()).toBeVisible({ timeout: 120_000 });
  await expect(page.getByTestId('recent-files')).toContainText('volume 2 of 2');
});

test('a model checkpoint imported from the Run panel becomes selectable', async ({ page }) => {
  await page.goto(host.url);
  await expect(page.getByTestId('run-import-model')).toBeEnabled();
  await expect(page.getByTestId('run-model').locator('option')).toHaveCount(1); // the bundled default
  await page.getByTestId('run-model-input').setInputFiles(join(ROOT, 'tests/fixtures/engine/tiny.safetensors'));
  await expect(page.getByTestId('run-model').locator('option')).toHaveCount(2);
  await expect(page.getByTestId('run-model')).toHaveValue('tiny');
  // The same file again is refused with the reason, and the installed model stays.
  await page.getByTestId('run-model-input').setInputFiles(join(ROOT, 'tests/fixtures/engine/tiny.safetensors'));
  await expect(page.getByTestId('run-error')).toContainText('tiny.safetensors: a model named "tiny" is already installed');
  await expect(page.getByTestId('run-model').locator('option')).toHaveCount(2);
});

test('a file is sent to the host with its upload shown and cancellable, and a cancelled upload leaves nothing behind', async ({ page }) => {
  await page.goto(host.url);
  await expect(page.getByTestId('open-file')).toBeEnabled();
  // The upload request is held before it reaches the host, so it is still on its way when Cancel is clicked.
  let release = () => {};
  const held = new Promise<void>((ok) => (release = ok));
  await page.route('**/api/upload', async (route) => {
    await held;
    await route.continue().catch(() => undefined);
  });
  await page.getByTestId('file-input').setInputFiles(join(ROOT, 'resources/sample/colin27_t1.nii.gz'));
  await expect(page.getByTestId('progress')).toContainText('Uploading colin27_t1.nii.gz');
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByTestId('error')).toContainText('upload of colin27_t1.nii.gz cancelled');
  release();
  await page.unroute('**/api/upload');
  const uploads = join(host.dataDir, 'uploads');
  await expect.poll(() => (existsSync(uploads) ? readdirSync(uploads) : [])).toEqual([]);

  // Sent again, the file goes to the host's disk, opens, and its upload is removed once the host has read it.
  await page.getByRole('button', { name: 'Dismiss' }).click();
  await page.getByTestId('file-input').setInputFiles(join(ROOT, 'resources/sample/colin27_t1.nii.gz'));
  await expect(page.getByTestId('recent-files')).toContainText('colin27_t1.nii.gz');
  await expect.poll(() => (existsSync(uploads) ? readdirSync(uploads) : [])).toEqual([]);
});
