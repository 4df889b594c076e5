import { expect, test } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { startHost, type RunningHost } from './host.js';
import { tileStats } from './pixels.js';

const ARTIFACTS = resolve(import.meta.dirname, '../artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

let host: RunningHost;
test.beforeAll(async () => {
  host = await startHost();
});
test.afterAll(async () => {
  await host?.stop();
});

test('npm start shows the sample tri-planar with the atlas overlay', async ({ page }) => {
  const consoleErrors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  const started = Date.now();
  await page.goto(host.url);
  await expect(page.getByTestId('mode')).toContainText('Browser host');
  await expect(page.getByTestId('overlay-row')).toHaveCount(1);
  // The host prints the first drawn frame once the renderer reports it.
  await expect.poll(() => host.output.join(''), { timeout: 180_000 }).toMatch(/first frame drawn/);
  console.log(
    `first frame: ${((Date.now() - started) / 1000).toFixed(1)} s after page.goto; host said: ${/first frame drawn [^\n]*/.exec(host.output.join(''))?.[0]}`,
  );

  const withOverlay = await tileStats(page);
  expect(withOverlay.map((t) => t.view).sort()).toEqual(['axial', 'coronal', 'render', 'sagittal']);
  for (const t of withOverlay) expect(t.lit / t.pixels, `${t.view} view is blank`).toBeGreaterThan(0.05);
  await page.screenshot({ path: resolve(ARTIFACTS, 'sample-triplanar-overlay.png') });

  // Hide the overlay: the colour in the three slice views must be the overlay's, not the crosshair's.
  await page.getByTestId('overlay-visible').uncheck();
  await page.waitForTimeout(1500);
  const without = await tileStats(page);
  await page.screenshot({ path: resolve(ARTIFACTS, 'sample-triplanar-no-overlay.png') });
  for (const view of ['axial', 'coronal', 'sagittal'] as const) {
    const on = withOverlay.find((t) => t.view === view)!;
    const off = without.find((t) => t.view === view)!;
    expect(on.coloured, `${view}: overlay pixels`).toBeGreaterThan(off.coloured + 0.02 * on.pixels);
  }
  expect(consoleErrors.filter((e) => /Content Security Policy|Refused/.test(e))).toEqual([]);
});

test('clicking a view moves the crosshair and shows world, voxel and intensity', async ({ page }) => {
  await page.goto(host.url);
  await expect.poll(() => host.output.join('').match(/first frame drawn/g)?.length ?? 0, { timeout: 180_000 }).toBeGreaterThan(1);
  const tiles = await page.evaluate(() =>
    (
      window as unknown as { neuroverseViewer: { tiles(): { view: string; left: number; top: number; width: number; height: number }[] } }
    ).neuroverseViewer.tiles(),
  );
  const axial = tiles.find((t) => t.view === 'axial')!;
  await page.getByTestId('viewer-canvas').click({ position: { x: axial.left + axial.width * 0.4, y: axial.top + axial.height * 0.45 } });
  await expect(page.getByTestId('location-mm')).toBeVisible();
  const vox = (await page.getByTestId('location-vox').textContent())!.split(',').map((s) => Number(s.trim()));
  expect(vox).toHaveLength(3);
  for (const v of vox) expect(Number.isInteger(v)).toBe(true);
  // Colin27 is 181×217×181 with a 1 mm identity affine: world = voxel + origin.
  const mm = (await page.getByTestId('location-mm').textContent())!.split(',').map((s) => Number(s.trim()));
  expect(mm[0]).toBeCloseTo(vox[0] - 90, 0);
  expect(mm[1]).toBeCloseTo(vox[1] - 125, 0);
  expect(mm[2]).toBeCloseTo(vox[2] - 71, 0);
  await expect(page.getByTestId('location-value').first()).toHaveText(/\d/);
});
