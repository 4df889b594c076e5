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
      const r = png.data[i], g = png.data[i + 1], b = png.data[i + 2];
      if (Math.max(r, g, b) > 40) lit++;
      if (Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
    }
    out.push({ view: t.view, lit, coloured, pixels: png.width * png.height });
  }
  return out;
}
