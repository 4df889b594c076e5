import { describe, expect, test } from 'vitest';
import { cardLines } from '../../main/workflow/model-card.js';

describe('evaluation card: the real-scan table', () => {
  test('model and atlas vote per alignment, as the evaluation script writes them', () => {
    const lines = cardLines({
      summary: 's',
      realScans: {
        note: 'leave-one-out',
        columns: [
          { method: 'model', align: 'affine' },
          { method: 'vote', align: 'deformable' },
        ],
        dice: { thalamus: [0.8, 0.91], hippocampus: [0.3, null] },
      },
    });
    expect(lines.realScans).toEqual({
      note: 'leave-one-out',
      columns: ['model · affine', 'vote · deformable'],
      rows: [
        { structure: 'thalamus', values: [0.8, 0.91] },
        { structure: 'hippocampus', values: [0.3, null] },
      ],
    });
  });

  test('a malformed table is left out, not shown half', () => {
    expect(cardLines({ realScans: { columns: 'model', dice: {} } }).realScans).toBeNull();
    expect(cardLines({ realScans: { columns: [{ method: 'vote' }], dice: { x: [1] } } }).realScans).toBeNull();
    // Rows whose length does not match the columns are dropped.
    expect(cardLines({ realScans: { columns: [{ method: 'vote', align: 'affine' }], dice: { x: [1, 2] } } }).realScans).toBeNull();
    expect(cardLines(null).realScans).toBeNull();
  });

  test('the table by context size: one row per method and L, in the order measured', () => {
    const lines = cardLines({
      realScansBySize: {
        note: 'sizes',
        sizes: [1, 4],
        columns: {
          'model|affine': { dice: { thalamus: [0.7, 0.85], putamen: [0.5, 0.8] }, seconds: [9, 11] },
          'vote|affine': { dice: { thalamus: [0.6, 0.84], putamen: [0.4, null] }, seconds: [3, 3] },
        },
      },
    });
    expect(lines.realScansBySize).toEqual({
      note: 'sizes',
      structures: ['thalamus', 'putamen'],
      rows: [
        { method: 'model · affine', size: 1, values: [0.7, 0.5], seconds: 9 },
        { method: 'model · affine', size: 4, values: [0.85, 0.8], seconds: 11 },
        { method: 'vote · affine', size: 1, values: [0.6, 0.4], seconds: 3 },
        { method: 'vote · affine', size: 4, values: [0.84, null], seconds: 3 },
      ],
    });
  });

  test('a by-size table whose columns disagree is left out', () => {
    const bad = (columns: unknown, sizes: unknown = [1, 2]) => cardLines({ realScansBySize: { sizes, columns } }).realScansBySize;
    expect(bad({ 'model|affine': { dice: { a: [1] } } })).toBeNull(); // one value for two sizes
    expect(bad({ 'model|affine': { dice: { a: [1, 1] } }, 'vote|affine': { dice: { b: [1, 1] } } })).toBeNull(); // other structures
    expect(bad({ model: { dice: { a: [1, 1] } } })).toBeNull(); // no alignment in the key
    expect(bad({ 'model|affine': { dice: { a: [1, 1] } } }, [0, 2])).toBeNull();
  });
});

describe('evaluation card: the restoration table', () => {
  test('gains over the input per task and method, as the evaluation script writes them', () => {
    const rows = [
      { task: 'noise', method: 'default (nlm)', heads: 3, psnrGain: 4.43, ssimGain: 0.0594, inputKept: 0 },
      { task: 'bias', method: 'default (bias-field)', heads: 2, psnrGain: 0, ssimGain: 0, inputKept: 2 },
    ];
    expect(cardLines({ restoration: { note: 'loo', rows } }).restoration).toEqual({ note: 'loo', rows });
  });

  test('malformed rows are left out; none left, no table', () => {
    const good = { task: 'noise', method: 'model', heads: 1, psnrGain: -21.7, ssimGain: -0.91, inputKept: 0 };
    const lines = cardLines({ restoration: { rows: [good, { ...good, heads: 0 }, { ...good, psnrGain: 'x' }, { task: 'noise' }, null] } });
    expect(lines.restoration).toEqual({ note: '', rows: [good] });
    expect(cardLines({ restoration: { rows: [{ ...good, method: 3 }] } }).restoration).toBeNull();
    expect(cardLines({ restoration: 'measured' }).restoration).toBeNull();
  });
});
