import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { htmlToPdf } from '../../main/export/pdf.js';
import { buildReportHtml } from '../../main/export/report.js';
import { volumeStats } from '../../main/export/stats.js';
import { volumetry, type NormTable } from '../../main/export/volumetry/index.js';
import type { Volume } from '../../main/imaging/volume.js';
import { findChromium } from '../../main/util/chromium.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('neuroverse-scan-report-');

/** A small head-like scan with left (17) and right (53) "hippocampus" blocks of different sizes. */
function scan(): { target: Volume; mask: Volume } {
  const [nx, ny, nz] = [48, 56, 40];
  const img = new Int16Array(nx * ny * nz);
  const lab = new Uint8Array(nx * ny * nz);
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        const idx = i + j * nx + k * nx * ny;
        img[idx] = Math.hypot(i - 24, j - 28, k - 20) < 18 ? 400 + ((i * 7 + j * 3) % 50) : 10;
        if (j >= 24 && j < 32 && k >= 16 && k < 22) {
          if (i >= 12 && i < 18) lab[idx] = 53;
          if (i >= 30 && i < 37) lab[idx] = 17;
        }
      }
  const affine = [
    [-1, 0, 0, 24],
    [0, 1, 0, -28],
    [0, 0, 1, -20],
    [0, 0, 0, 1],
  ];
  const base = { dims: [nx, ny, nz], spacing: [1, 1, 1], affine, slope: 1, intercept: 0, description: '' };
  return {
    target: { ...base, data: img, source: { kind: 'dicom', seriesInstanceUid: '1.2.3' } },
    mask: { ...base, data: lab, source: { kind: 'memory' } },
  };
}

const TABLE: NormTable = {
  id: 'fixture-hippocampus-total-F',
  source: 'test fixture, not a published norm',
  structure: 'Hippocampus',
  side: 'total',
  sex: 'F',
  measure: 'ml',
  percentiles: [5, 50, 95],
  rows: [
    { age: 40, values: [0.5, 0.6, 0.7] },
    { age: 80, values: [0.5, 0.6, 0.7] },
  ],
};

function html(): string {
  const { target, mask } = scan();
  const v = volumetry(mask, {
    icv: { volumeMl: 25, method: 'majority vote of 4 atlas intracranial masks' },
    demographics: { age: 67, sex: 'F', source: 'age from DICOM PatientAge' },
    norms: [TABLE],
  });
  return buildReportHtml({
    target,
    targetName: 'sub-X T1',
    mask,
    stats: volumeStats(mask),
    model: { name: 'Neuroverse atlas vote' },
    contextSet: { name: 'starter', pairs: ['a', 'b'] },
    createdAt: '2026-12-07T18:00:00Z',
    identifiers: { patientId: 'P-001', studyDate: '20261201', seriesDescription: 'T1 MPRAGE' },
    volumetry: v,
    warnings: ['pair 2: registration may have failed (similarity 0.12)', '0.4 mL of the result is in doubt (doubt ≥ 0.5)'],
    provenance: {
      type: 'AUTOMATIC',
      algorithmName: 'Neuroverse atlas vote',
      algorithmVersion: '0.1.0',
      method: 'vote',
      alignment: 'deformable',
      contextSet: { name: 'starter', identity: 'abc123', pairs: 2 },
    },
    versions: { 'Neuroverse Workstation': '0.1.0' },
  });
}

describe('scan report', () => {
  test('identifiers, volumetry with % ICV, asymmetry and percentiles, warnings and how it was made', () => {
    const h = html();
    expect(h).toContain('<dt>Patient ID</dt><dd>P-001</dd>');
    // 7×8×6 = 336 voxels left (0.336 mL), 6×8×6 = 288 right: 1.344 and 1.152 % of 25 mL; asymmetry 48/312 = 15.4 %.
    expect(h).toMatch(
      /Left-Hippocampus<\/td><td>17<\/td><td>0\.336<\/td><td>1\.344<\/td><td>15\.4<\/td><td class="none" title="no norm available for left Hippocampus">no norm<\/td>/,
    );
    expect(h).toMatch(/Right-Hippocampus<\/td><td>53<\/td><td>0\.288<\/td><td>1\.152<\/td>/);
    // Total 0.624 mL: between the 50th (0.6) and 95th (0.7) points of the fixture, 50 + 45 × 0.24 = 60.8.
    expect(h).toMatch(
      /Hippocampus \(left \+ right\)<\/td><td><\/td><td>0\.624<\/td><td>2\.496<\/td><td>15\.4<\/td><td class="" title="test fixture, not a published norm">61<\/td>/,
    );
    expect(h).toContain('Intracranial volume (ICV): 25 mL (majority vote of 4 atlas intracranial masks)');
    expect(h).toContain('|L − R| / ((L + R) / 2) × 100');
    expect(h).toContain('Percentiles for age 67, sex F (age from DICOM PatientAge)');
    expect(h).toContain('registration may have failed');
    expect(h).toContain('atlas vote of registered context labels; alignment deformable; context set &quot;starter&quot; (2 pairs, identity abc123)');
    expect(h).toContain('Neuroverse Workstation 0.1.0');
    expect(h).not.toMatch(/<script|https?:\/\//);
  });

  test('PDF printed by Chromium where it is installed; without one, HTML only with the reason', async () => {
    const none = await htmlToPdf(html(), join(dir, 'none.pdf'), { browser: null });
    expect(none).toMatchObject({ written: false });
    if (!none.written) expect(none.reason).toMatch(/no Chromium.*HTML only/);
    expect(existsSync(join(dir, 'none.pdf'))).toBe(false);
    const missing = await htmlToPdf(html(), join(dir, 'missing.pdf'), { browser: join(dir, 'no-such-browser') });
    expect(missing.written).toBe(false);

    if (!findChromium()) return; // the test machines have Debian's chromium (scripts/setup.sh); elsewhere HTML only
    const out = join(dir, 'report.pdf');
    const r = await htmlToPdf(html(), out);
    expect(r, JSON.stringify(r)).toMatchObject({ written: true });
    const pdf = readFileSync(out);
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    // One page per scan.
    expect(pdf.toString('latin1').match(/\/Type\s*\/Page\b/g)).toHaveLength(1);
    writeFileSync(join(dir, 'report.html'), html());
    await expect(htmlToPdf(html(), out)).rejects.toThrow(/already exists/);
  }, 120_000);
});
