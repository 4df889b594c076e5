import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, test } from 'vitest';
import { buildReportHtml, writeReport } from '../../main/export/report.js';
import { volumeStats } from '../../main/export/stats.js';
import { applyAffine, readNifti, type Volume } from '../../main/imaging/index.js';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('neuroverse-report-');

/** Label 5 in a ball on the patient's right and superior side (world x = +40, z = +30 mm), so orientation shows. */
function rightSuperiorBall(t: Volume): Volume {
  const [nx, ny, nz] = t.dims;
  const data = new Uint8Array(nx * ny * nz);
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        const [x, y, z] = applyAffine(t.affine, [i, j, k]);
        if (Math.hypot(x - 40, y, z - 30) < 10) data[i + j * nx + k * nx * ny] = 5;
      }
  return { ...t, data, slope: 1, intercept: 0, source: { kind: 'memory' } };
}

function decode(html: string, plane: string): PNG {
  const m = new RegExp(`alt="${plane} slice \\d+"[^>]*src="data:image/png;base64,([^"]+)"`).exec(html);
  expect(m, plane).not.toBeNull();
  return PNG.sync.read(Buffer.from(m![1], 'base64'));
}

/** Columns and rows of the pixels drawn in the label colour (red dominant, as label position 0 is). */
function colouredPixels(png: PNG): { x: number; y: number }[] {
  const out = [];
  for (let y = 0; y < png.height; y++)
    for (let x = 0; x < png.width; x++) {
      const o = (y * png.width + x) * 4;
      if (png.data[o] - png.data[o + 1] > 40) out.push({ x, y });
    }
  return out;
}

describe('run report', () => {
  test('HTML with the structure volumes, model, context set and correctly oriented key slices', async () => {
    const target = await readNifti(join(ROOT, 'resources/sample/colin27_t1.nii.gz'));
    const mask = rightSuperiorBall(target);
    const stats = volumeStats(mask, { 5: 'Right <thalamus>' });
    const html = buildReportHtml({
      target,
      targetName: 'colin27_t1.nii.gz',
      mask,
      stats,
      model: { name: 'Neuroverse3D', version: 'B', checkpoint: 'nv3d-b.onnx' },
      contextSet: { name: 'OASIS hippocampus', pairs: ['subj01', 'subj02'] },
      createdAt: '2026-11-27T23:00:00Z',
    });
    expect(html).toMatch(/Right &lt;thalamus&gt;<\/td><td>5<\/td><td>\d+<\/td><td>4\.\d{3}<\/td>/); // a 10 mm ball is 4.19 mL
    expect(html).toContain('Neuroverse3D B (checkpoint nv3d-b.onnx)');
    expect(html).toContain('OASIS hippocampus: 2 pairs (subj01, subj02)');
    expect(html).not.toMatch(/<script|https?:\/\//);

    const axial = decode(html, 'axial');
    expect([axial.width, axial.height]).toEqual([181, 217]);
    const a = colouredPixels(axial);
    expect(a.length).toBeGreaterThan(100);
    expect(a.every((p) => p.x > axial.width / 2)).toBe(true); // patient's right on the image's right
    const coronal = colouredPixels(decode(html, 'coronal'));
    expect(coronal.every((p) => p.y < 181 / 2)).toBe(true); // superior up
    const sagittal = decode(html, 'sagittal');
    expect(colouredPixels(sagittal).length).toBeGreaterThan(100);

    const out = join(dir, 'report.html');
    await writeReport(out, { target, targetName: 't', mask, stats, model: { name: 'm' }, contextSet: { name: 'c', pairs: [] }, createdAt: 'now' });
    expect(readFileSync(out, 'utf8')).toMatch(/^<!doctype html>/);
    await expect(
      writeReport(out, { target, targetName: 't', mask, stats, model: { name: 'm' }, contextSet: { name: 'c', pairs: [] }, createdAt: 'now' }),
    ).rejects.toThrow(/already exists/);
  }, 60_000);
});
