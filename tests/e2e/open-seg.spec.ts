import { expect, test, type Page, type Route } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startHost, type RunningHost } from './host.js';
import { tileStats } from './pixels.js';

// Opening a DICOM-SEG in the app: with its series from one folder, or alone onto the open series.
const ROOT = resolve(import.meta.dirname, '../..');
const ARTIFACTS = resolve(import.meta.dirname, '../artifacts');
const GE = resolve(import.meta.dirname, '../../../shared/data/dicom/ge-3d-t1-mprage/In/05_3D_Ax_T1_MP_RAGE_R22');
const work = mkdtempSync(join(tmpdir(), 'neuroverse-seg-e2e-'));
const study = join(work, 'study');
const seg = join(work, 'seg.dcm');
let host: RunningHost;

test.beforeAll(async () => {
  test.skip(!existsSync(GE), 'shared DICOM data not present');
  mkdirSync(ARTIFACTS, { recursive: true });
  // The SEG comes from the CLI (a mask on the GE grid, exported with two named segments).
  const cli = (...args: string[]) => execFileSync(process.execPath, [join(ROOT, 'bin/neuroverse.js'), ...args], { encoding: 'utf8' });
  const image = join(work, 'ge.nii.gz');
  cli('convert', GE, '--out', image);
  const mask = join(work, 'mask.nii.gz');
  execFileSync(process.execPath, ['--input-type=module', '-e', MAKE_MASK, image, mask]);
  cli('export-seg', '--mask', mask, '--reference', GE, '--out', seg, '--segment', 'Left-Hippocampus=17', '--segment', 'Right-Thalamus=53');
  mkdirSync(study);
  for (const f of readdirSync(GE)) copyFileSync(join(GE, f), join(study, f));
  copyFileSync(seg, join(study, 'seg.dcm'));
});

// A host per test: the session keeps its open volumes across page loads, and each test starts from none.
test.beforeEach(async () => {
  host = await startHost();
});

test.afterEach(async () => {
  await host?.stop();
});

test.afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** A ball of 17 near the centre of the axial mid-slice and a box of 53 elsewhere, on the image's grid. */
const MAKE_MASK = `
import { readNifti, writeNifti } from ${JSON.stringify(join(ROOT, 'dist/main/imaging/index.js'))};
const [src, out] = process.argv.slice(1);
const v = await readNifti(src);
const [nx, ny, nz] = v.dims;
const data = new Uint8Array(nx * ny * nz);
for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
  const idx = i + j * nx + k * nx * ny;
  if (Math.hypot(i - nx / 2, j - ny / 2, k - nz / 2) < 20) data[idx] = 17;
  else if (i > nx * 0.6 && i < nx * 0.75 && j > ny * 0.55 && j < ny * 0.7 && k > nz * 0.3 && k < nz * 0.6) data[idx] = 53;
}
await writeNifti(out, { ...v, data, slope: 1, intercept: 0, description: 'test mask' }, { intent: 'label' });
`;

const labelColours = (page: Page, i: number) =>
  page.evaluate(
    (n) =>
      (window as unknown as { neuroverseViewer: { labelColours(i: number): { value: number; rgb: number[]; name: string }[] } }).neuroverseViewer.labelColours(
        n,
      ),
    i,
  );

const viewer = <T>(page: Page, f: string) =>
  page.evaluate((name) => (window as unknown as { neuroverseViewer: Record<string, () => T> }).neuroverseViewer[name](), f);

async function expectSegOverlay(page: Page) {
  const row = page.getByTestId('overlay-row');
  await expect(row).toHaveCount(1, { timeout: 180_000 });
  await expect(row).toContainText('seg.dcm · SEG');
  const entries = row.getByTestId('legend-entry');
  await expect(entries).toHaveCount(2);
  await expect(entries.nth(0)).toContainText('Left-Hippocampus');
  await expect(entries.nth(0)).toHaveAttribute('data-rgb', '217,38,38');
  await expect(entries.nth(1)).toContainText('Right-Thalamus');
  // The viewer draws each value in the SEG's colour, under the segment's name.
  await expect
    .poll(async () => (await labelColours(page, 1)).filter((c) => c.name).map((c) => [c.value, c.name, c.rgb.join(',')]))
    .toEqual([
      [17, 'Left-Hippocampus', '217,38,38'],
      [53, 'Right-Thalamus', await entries.nth(1).getAttribute('data-rgb')],
    ]);
  // The ball sits at the crosshair: every slice view shows it in colour.
  // Polled: the software renderer draws the overlay a while after the volume is loaded. Each slice view must show it.
  const uncoloured = async () => {
    const views = (await tileStats(page)).filter((t) => t.view !== 'render');
    return views.length === 0 ? ['no views'] : views.filter((t) => t.coloured <= 200).map((t) => t.view);
  };
  await expect.poll(uncoloured, { timeout: 60_000 }).toEqual([]);
}

test('a folder with a series and its DICOM-SEG opens the image with the SEG as a named, coloured overlay', async ({ page }) => {
  await page.goto(host.url);
  await expect(page.getByTestId('open-folder')).toBeEnabled();
  await page.getByTestId('folder-input').setInputFiles(study);
  await expect(page.getByText('256×256×130').first()).toBeVisible({ timeout: 180_000 });
  await expectSegOverlay(page);
  await page.screenshot({ path: resolve(ARTIFACTS, 'seg-with-series.png') });
});

test('a SEG alone: refused while its series is not open, then added onto the open series with Add overlay', async ({ page }) => {
  await page.goto(host.url);
  await expect(page.getByTestId('open-file')).toBeEnabled();
  await page.getByTestId('folder-input').setInputFiles(GE);
  await expect(page.getByText('256×256×130').first()).toBeVisible({ timeout: 180_000 });
  await expect(page.getByTestId('open-overlay')).toBeEnabled();
  await page.getByTestId('overlay-input').setInputFiles(seg);
  await expectSegOverlay(page);
  await page.screenshot({ path: resolve(ARTIFACTS, 'seg-added-to-series.png') });
});

test('a SEG whose series is not open: one line naming the file', async ({ page }) => {
  await page.goto(host.url);
  await expect(page.getByTestId('open-file')).toBeEnabled();
  await page.getByTestId('file-input').setInputFiles(seg);
  await expect(page.getByTestId('error')).toContainText(
    /seg\.dcm: references series [\d.]+, which is not open: open that series first, or the folder that holds both/,
  );
  await expect(page.getByTestId('overlay-row').filter({ hasText: 'seg.dcm' })).toHaveCount(0);
});

// The host opens the sample (Colin27 + AAL) at start. Its first volume is held back until the user's series is
// on screen, so the start-up open always finishes last: it must then show nothing, atlas included.
test('a series opened while the start-up sample is still loading keeps only its own overlay', async ({ page }) => {
  let held: Route | undefined;
  let sampleAsked!: () => void;
  const asked = new Promise<void>((r) => (sampleAsked = r));
  await page.route('**/api/call/volumeNifti', async (route) => {
    if (held) return route.continue();
    held = route;
    sampleAsked();
  });
  await page.goto(host.url);
  await asked;
  await page.getByTestId('folder-input').setInputFiles(study);
  await expect(page.getByText('256×256×130').first()).toBeVisible({ timeout: 180_000 });
  await expectSegOverlay(page);
  const late = held!.request();
  await held!.continue();
  await late.response();
  await expect.poll(() => viewer<number>(page, 'pendingOpens')).toBe(0);
  const names = (await viewer<{ name: string }[]>(page, 'volumes')).map((v) => v.name);
  expect(names).toHaveLength(2);
  expect(names.filter((n) => /colin27/i.test(n))).toEqual([]);
  await expect(page.getByTestId('overlay-row')).toHaveCount(1);
  await expect(page.getByTestId('overlay-row')).toContainText('seg.dcm · SEG');
  await expect(page.getByText('256×256×130').first()).toBeVisible();
});
