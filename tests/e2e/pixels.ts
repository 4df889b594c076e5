import type { Page } from '@playwright/test';
import { PNG } from 'pngjs';

export interface Tile {
  view: 'axial' | 'coronal' | 'sagittal' | 'render';
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface TileStats {
  view: Tile['view'];
  /** Pixels brighter than the background. */
  lit: number;
  /** Pixels with clear colour (the grey-scale T1 has none): label overlay, minus the thin crosshair. */
  coloured: number;
  pixels: number;
}

export async function tiles(page: Page): Promise<Tile[]> {
  return page.evaluate(() => (window as unknown as { neuroverseViewer: { tiles(): Tile[] } }).neuroverseViewer.tiles());
}

/** Screenshot of each tile, counted: what a person would see in each view. */
export async function tileStats(page: Page): Promise<TileStats[]> {
  const canvas = await page.getByTestId('viewer-canvas').boundingBox();
  if (!canvas) throw new Error('viewer canvas not visible');
  const out: TileStats[] = [];
  for (const t of await tiles(page)) {
    // Stay inside the tile, away from the crosshair lines at its edges and the orientation letters.
    const clip = { x: canvas.x + t.left + 2, y: canvas.y + t.top + 2, width: Math.max(1, t.width - 4), height: Math.max(1, t.height - 4) };
    const png = PNG.sync.read(await page.screenshot({ clip }));
    let lit = 0;
    let coloured = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      const r = png.data[i],
        g = png.data[i + 1],
        b = png.data[i + 2];
      if (Math.max(r, g, b) > 40) lit++;
      if (Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
    }
    out.push({ view: t.view, lit, coloured, pixels: png.width * png.height });
  }
  return out;
}

/** Which viewer: the main one, or the second one that side-by-side and swap show a restored image in. */
export type Which = 'viewer' | 'compare';

/** Tiles of either viewer, relative to its own canvas. */
export async function tilesOf(page: Page, which: Which): Promise<Tile[]> {
  return page.evaluate((w) => {
    const v = (window as unknown as { neuroverseViewer: { tiles(): Tile[]; compareTiles(): Tile[] } }).neuroverseViewer;
    return w === 'compare' ? v.compareTiles() : v.tiles();
  }, which);
}

/** Screenshot of one tile of either viewer (inside its edges, as tileStats), decoded. */
export async function tileImage(page: Page, view: Tile['view'], which: Which = 'viewer'): Promise<PNG> {
  const canvas = await page.getByTestId(which === 'compare' ? 'compare-canvas' : 'viewer-canvas').boundingBox();
  if (!canvas) throw new Error(`${which} canvas not visible`);
  const t = (await tilesOf(page, which)).find((x) => x.view === view);
  if (!t) throw new Error(`${which} has no ${view} tile`);
  const clip = { x: canvas.x + t.left + 2, y: canvas.y + t.top + 2, width: Math.max(1, t.width - 4), height: Math.max(1, t.height - 4) };
  return PNG.sync.read(await page.screenshot({ clip }));
}

/** Screenshot of what the view area shows (whichever canvas is on top there), decoded. */
export async function viewImage(page: Page): Promise<PNG> {
  const box = await page.getByTestId('viewer-canvas').boundingBox();
  if (!box) throw new Error('viewer canvas not visible');
  return PNG.sync.read(await page.screenshot({ clip: box }));
}

/** Pixels brighter than the background, as a fraction of the image. */
export function litFraction(png: PNG): number {
  let lit = 0;
  for (let i = 0; i < png.data.length; i += 4) if (Math.max(png.data[i], png.data[i + 1], png.data[i + 2]) > 40) lit++;
  return lit / (png.width * png.height);
}

/**
 * Fraction of pixels that differ clearly (by more than 40 of 255 in some channel) between two images of
 * the same region; images of different sizes are compared over their common top-left part.
 */
export function differingFraction(a: PNG, b: PNG): number {
  const w = Math.min(a.width, b.width);
  const h = Math.min(a.height, b.height);
  let differ = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * a.width + x) * 4;
      const j = (y * b.width + x) * 4;
      if (Math.abs(a.data[i] - b.data[j]) > 40 || Math.abs(a.data[i + 1] - b.data[j + 1]) > 40 || Math.abs(a.data[i + 2] - b.data[j + 2]) > 40) differ++;
    }
  }
  return differ / (w * h);
}
