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
});
