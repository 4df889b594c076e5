import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { InputError } from '../../main/common/errors.js';
import type { Volume } from '../../main/imaging/volume.js';
import {
  checkNormTable,
  demographicsOf,
  loadNormTables,
  normPercentile,
  PUBLISHED_NORMS,
  volumetry,
  volumetryCsv,
  type NormTable,
} from '../../main/export/volumetry/index.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('neuroverse-volumetry-');

/**
 * A phantom with known volumes on an anisotropic grid (0.8 × 1.1 × 1.5 mm, so a voxel is not
 * 1): boxes of exact voxel counts for left (17) and right (53) hippocampus, one thalamus side (10) and a label
 * no aseg table names (99).
 */
function phantom(): { mask: Volume; voxelMm3: number; counts: Record<number, number> } {
  const [nx, ny, nz] = [40, 30, 20];
  const sp = [0.8, 1.1, 1.5];
  const data = new Uint8Array(nx * ny * nz);
  const box = (v: number, x0: number, x1: number, y0: number, y1: number, z0: number, z1: number) => {
    for (let k = z0; k < z1; k++) for (let j = y0; j < y1; j++) for (let i = x0; i < x1; i++) data[i + j * nx + k * nx * ny] = v;
    return (x1 - x0) * (y1 - y0) * (z1 - z0);
  };
  const counts = { 17: box(17, 2, 12, 2, 12, 2, 12), 53: box(53, 20, 28, 2, 12, 2, 12), 10: box(10, 2, 6, 15, 20, 2, 4), 99: box(99, 30, 31, 20, 21, 10, 11) };
  const affine = [
    [-sp[0], 0, 0, 10],
    [0, sp[1], 0, -20],
    [0, 0, sp[2], 5],
    [0, 0, 0, 1],
  ];
  return {
    mask: { dims: [nx, ny, nz], spacing: sp, affine, data, slope: 1, intercept: 0, description: 'phantom', source: { kind: 'memory' } },
    voxelMm3: sp[0] * sp[1] * sp[2],
    counts,
  };
}

/** A made-up table for the tests only (not a published norm): volumes in mL at three ages and five percentiles. */
const TEST_TABLE: NormTable = {
  id: 'test-hippocampus-left-F',
  source: 'test fixture, not a published norm',
  structure: 'Hippocampus',
  side: 'left',
  sex: 'F',
  measure: 'ml',
  percentiles: [5, 25, 50, 75, 95],
  rows: [
    { age: 50, values: [0.6, 0.7, 0.8, 0.9, 1.0] },
    { age: 60, values: [0.5, 0.6, 0.7, 0.8, 0.9] },
    { age: 70, values: [0.4, 0.5, 0.6, 0.7, 0.8] },
  ],
};

describe('volumetry of a labelled phantom', () => {
  test('volumes in mL from voxel counts and the affine, left/right pair, asymmetry, % of ICV', () => {
    const { mask, voxelMm3, counts } = phantom();
    const r = volumetry(mask, { icv: { volumeMl: 20, method: 'given' } });
    const byValue = new Map(r.rows.map((x) => [x.value, x]));
    expect(r.voxelVolumeMm3).toBeCloseTo(voxelMm3, 9);
    for (const v of [17, 53, 10, 99]) expect(byValue.get(v)!.volumeMl).toBeCloseTo((counts[v as 17] * voxelMm3) / 1000, 9);
    expect(byValue.get(17)).toMatchObject({ name: 'Left-Hippocampus', structure: 'Hippocampus', side: 'left' });
    expect(byValue.get(53)).toMatchObject({ name: 'Right-Hippocampus', side: 'right' });
    expect(byValue.get(99)).toMatchObject({ name: 'Label 99', structure: 'Label 99' });
    expect(byValue.get(99)!.side).toBeUndefined();
    // 1000 vs 800 voxels: |L − R| / mean = 200 / 900.
    const L = (1000 * voxelMm3) / 1000;
    const R = (800 * voxelMm3) / 1000;
    expect(r.pairs).toHaveLength(1); // thalamus has one side only
    expect(r.pairs[0].structure).toBe('Hippocampus');
    expect(r.pairs[0].leftMl).toBeCloseTo(L, 9);
    expect(r.pairs[0].asymmetryIndex).toBeCloseTo((200 / 900) * 100, 9);
    expect(r.pairs[0].signedAsymmetry).toBeGreaterThan(0);
    expect(byValue.get(17)!.pctIcv).toBeCloseTo((L / 20) * 100, 9);
    expect(r.pairs[0].pctIcv).toBeCloseTo(((L + R) / 20) * 100, 9);
  });

  test('without an ICV the shares are null; asked-for labels absent from the mask are rows of 0 mL', () => {
    const { mask } = phantom();
    const r = volumetry(mask, { labels: [17, 53, 18] });
    expect(r.rows.map((x) => x.value)).toEqual([17, 18, 53]);
    expect(r.rows[1]).toMatchObject({ name: 'Left-Amygdala', voxels: 0, volumeMl: 0, pctIcv: null });
    expect(r.icv).toBeNull();
  });

  test('user names decide the side; a CSV has one row per structure and per pair', () => {
    const { mask } = phantom();
    const r = volumetry(mask, { names: { 10: 'left thalamus', 99: 'Right-Thalamus' }, icv: { volumeMl: 10, method: 'given' } });
    expect(r.pairs.map((p) => p.structure)).toEqual(['Thalamus', 'Hippocampus']);
    const csv = volumetryCsv(r, { scan: 'phantom, "A"' });
    const lines = csv.trim().split('\r\n');
    expect(lines[0]).toBe('scan,structure,label,side,volume_ml,icv_ml,pct_icv,asymmetry_index,percentile,norm,age,sex');
    expect(lines).toHaveLength(1 + 4 + 2);
    expect(lines[1].startsWith('"phantom, ""A""",')).toBe(true);
    expect(csv).toContain('Hippocampus (L+R),L+R,both,');
  });

  test("the mask's own label names come before the aseg table's", () => {
    const { mask } = phantom();
    const named = { ...mask, labels: [{ value: 17, name: 'Precentral_L', color: [1, 2, 3] as [number, number, number] }] };
    const r = volumetry(named);
    expect(r.rows.find((x) => x.value === 17)).toMatchObject({ name: 'Precentral_L', structure: 'Precentral_L' });
    expect(r.rows.find((x) => x.value === 53)!.name).toBe('Right-Hippocampus');
  });

  test('the bundled table (Coupé et al. 2017, % of ICV) gives the hippocampus rows a percentile and names its source and caveat', () => {
    const { mask, voxelMm3 } = phantom();
    // Left hippocampus 1000 voxels; an ICV that puts it at 0.265 %, the female median at 60 in bounds_female.csv.
    const leftMl = voxelMm3;
    const r = volumetry(mask, { icv: { volumeMl: (leftMl / 0.265) * 100, method: 'given' }, demographics: { age: 60, sex: 'F', source: 'test' } });
    const left = r.rows.find((x) => x.value === 17)!.norm;
    expect(left).toMatchObject({ kind: 'percentile', table: 'coupe2017-hippocampus-left-F' });
    if (left.kind === 'percentile') expect(left.percentile).toBeCloseTo(50, 6);
    // The thalamus has no table; the note cites the source and says the percentile is indicative.
    expect(r.rows.find((x) => x.value === 10)!.norm).toEqual({ kind: 'none', reason: 'no norm available for left Thalamus' });
    expect(r.normsNote).toMatch(/^Norms: Coupé P, .*doi:10\.1002\/hbm\.23743/);
    expect(r.normsNote).toMatch(/indicative/);
  });
});

describe('the bundled hippocampus table at its edges', () => {
  const F = (age: number) => ({ age, sex: 'F' as const, source: 'test' });
  const pct = (x: number) => ({ ml: 4, pctIcv: x });
  test('the tables are well formed: six of them, ages 0–90, lower bound ≤ median ≤ upper bound', () => {
    expect(PUBLISHED_NORMS).toHaveLength(6);
    PUBLISHED_NORMS.forEach((t, i) => checkNormTable(t, 'bundled', i));
    for (const t of PUBLISHED_NORMS) expect([t.rows[0].age, t.rows.at(-1)!.age, t.rows.length]).toEqual([0, 90, 91]);
  });
  test('an age inside gives a percentile, between the published points in age and in volume', () => {
    // Female left at 60: 0.224 / 0.265 / 0.301 (2.5th / 50th / 97.5th); halfway between the lower bound and the median
    // is halfway between their percentiles. At 61.5 the median is halfway between 61's (0.265) and 62's (0.264).
    const p = (age: number, x: number) => {
      const r = normPercentile(PUBLISHED_NORMS, 'Hippocampus', 'left', F(age), pct(x));
      if (r.kind !== 'percentile') throw new Error(JSON.stringify(r));
      return r.percentile;
    };
    expect(p(60, (0.224 + 0.265) / 2)).toBeCloseTo(26.25, 6);
    expect(p(60, 0.265)).toBeCloseTo(50, 6);
    expect(p(61.5, 0.2645)).toBeCloseTo(50, 6);
    expect(normPercentile(PUBLISHED_NORMS, 'Hippocampus', 'left', F(60), pct(0.2))).toMatchObject({ kind: 'percentile', percentile: 2.5, bound: 'below' });
    // The table's last age still has a norm; both sides together have tables of their own.
    expect(normPercentile(PUBLISHED_NORMS, 'Hippocampus', 'right', F(90), pct(0.25)).kind).toBe('percentile');
    expect(normPercentile(PUBLISHED_NORMS, 'hippocampus', 'total', { ...F(70), sex: 'M' }, pct(0.5))).toMatchObject({
      kind: 'percentile',
      table: 'coupe2017-hippocampus-total-M',
    });
  });
  test('an age outside, an unknown sex, no ICV: no norm, with the reason', () => {
    expect(normPercentile(PUBLISHED_NORMS, 'Hippocampus', 'left', F(91), pct(0.25))).toEqual({
      kind: 'none',
      reason: "no norm available: age 91 outside the table's 0–90 years",
    });
    expect(normPercentile(PUBLISHED_NORMS, 'Hippocampus', 'left', { age: 60, source: 'test' }, pct(0.25))).toEqual({
      kind: 'none',
      reason: 'no norm available: sex unknown',
    });
    expect(normPercentile(PUBLISHED_NORMS, 'Hippocampus', 'left', F(60), { ml: 4, pctIcv: null })).toEqual({
      kind: 'none',
      reason: 'no norm available: the table is in % of intracranial volume, which was not estimated',
    });
  });
});

describe('norms lookup at its edges', () => {
  const ml = (x: number) => ({ ml: x, pctIcv: null });
  const F60 = { age: 60, sex: 'F' as const, source: 'test' };
  test('inside the table: linear in age and between percentile points', () => {
    expect(normPercentile([TEST_TABLE], 'Hippocampus', 'left', F60, ml(0.7))).toMatchObject({ kind: 'percentile', percentile: 50 });
    // At 55 the median is 0.75; 0.775 lies halfway between 50th (0.75) and 75th (0.85).
    const r = normPercentile([TEST_TABLE], 'hippocampus', 'left', { ...F60, age: 55 }, ml(0.8));
    expect(r.kind).toBe('percentile');
    if (r.kind === 'percentile') expect(r.percentile).toBeCloseTo(62.5, 9);
  });
  test('at the ages the table starts and ends: a norm; one year outside: none', () => {
    expect(normPercentile([TEST_TABLE], 'Hippocampus', 'left', { ...F60, age: 50 }, ml(0.8)).kind).toBe('percentile');
    expect(normPercentile([TEST_TABLE], 'Hippocampus', 'left', { ...F60, age: 70 }, ml(0.6)).kind).toBe('percentile');
    expect(normPercentile([TEST_TABLE], 'Hippocampus', 'left', { ...F60, age: 49 }, ml(0.8))).toEqual({
      kind: 'none',
      reason: "no norm available: age 49 outside the table's 50–70 years",
    });
    expect(normPercentile([TEST_TABLE], 'Hippocampus', 'left', { ...F60, age: 71 }, ml(0.8)).kind).toBe('none');
  });
  test('sex or age missing, the other sex, the other side: no norm, with the reason', () => {
    expect(normPercentile([TEST_TABLE], 'Hippocampus', 'left', { age: 60, source: 'x' }, ml(0.7))).toEqual({
      kind: 'none',
      reason: 'no norm available: sex unknown',
    });
    expect(normPercentile([TEST_TABLE], 'Hippocampus', 'left', { sex: 'F', source: 'x' }, ml(0.7))).toEqual({
      kind: 'none',
      reason: 'no norm available: age unknown',
    });
    expect(normPercentile([TEST_TABLE], 'Hippocampus', 'left', { ...F60, sex: 'M' }, ml(0.7)).kind).toBe('none');
    expect(normPercentile([TEST_TABLE], 'Hippocampus', 'right', F60, ml(0.7)).kind).toBe('none');
  });
  test('beyond the outer percentile points: the edge percentile, marked below or above', () => {
    expect(normPercentile([TEST_TABLE], 'Hippocampus', 'left', F60, ml(0.3))).toMatchObject({ kind: 'percentile', percentile: 5, bound: 'below' });
    expect(normPercentile([TEST_TABLE], 'Hippocampus', 'left', F60, ml(1.3))).toMatchObject({ kind: 'percentile', percentile: 95, bound: 'above' });
  });
  test('a table in % of ICV needs an ICV', () => {
    const t = { ...TEST_TABLE, measure: 'pct-icv' as const };
    expect(normPercentile([t], 'Hippocampus', 'left', F60, ml(0.7)).kind).toBe('none');
    expect(normPercentile([t], 'Hippocampus', 'left', F60, { ml: 5, pctIcv: 0.7 })).toMatchObject({ kind: 'percentile', percentile: 50 });
  });
  test('tables from a file are checked: a bad one is refused naming the file', async () => {
    const good = join(dir, 'norms.json');
    writeFileSync(good, JSON.stringify({ tables: [TEST_TABLE] }));
    expect(await loadNormTables(good)).toHaveLength(1);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify([{ ...TEST_TABLE, rows: [{ age: 50, values: [0.9, 0.8, 0.7, 0.6, 0.5] }] }]));
    await expect(loadNormTables(bad)).rejects.toThrow(/bad\.json.*row 1: "values"/);
  });
});

describe('age and sex', () => {
  test('from DICOM PatientAge, or birth and study dates; the user overrides', () => {
    expect(demographicsOf({ patientAge: '067Y', patientSex: 'F' })).toEqual({
      age: 67,
      sex: 'F',
      source: 'age from DICOM PatientAge; sex from DICOM PatientSex',
    });
    expect(demographicsOf({ patientBirthDate: '19600715', studyDate: '20260714', patientSex: 'M' })).toMatchObject({ age: 65, sex: 'M' });
    expect(demographicsOf({ patientAge: '018M' }).age).toBeCloseTo(1.5, 9);
    // "000Y" is what anonymizers leave (the GE series in shared/data has it): unknown, so the dates are tried.
    expect(demographicsOf({ patientAge: '000Y', patientBirthDate: '19700101', studyDate: '20200929' })).toMatchObject({ age: 50 });
    expect(demographicsOf({ patientAge: '000Y' }).age).toBeUndefined();
    expect(demographicsOf({ patientAge: '067Y', patientSex: 'O' }, { sex: 'm' })).toMatchObject({ age: 67, sex: 'M' });
    expect(demographicsOf({ patientSex: 'O' })).toEqual({ source: 'age and sex unknown' });
    expect(demographicsOf(undefined, { age: 30 })).toEqual({ age: 30, source: 'age given by the user' });
    expect(() => demographicsOf(undefined, { sex: 'X' })).toThrow(InputError);
  });
});
