import { describe, expect, test } from 'vitest';
import { EditHistory } from '../../renderer/src/lib/edit-history.js';

// A drawing layer of 256³ voxels, edited the way the brush and eraser do: a few voxels per stroke.
const N = 256 ** 3;

// Deep equality of 16M-element arrays in the test runner takes gigabytes; compare bytes directly.
const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;

function stroke(bitmap: Uint8Array, from: number, count: number, value: number) {
  bitmap.fill(value, from, from + count);
}

describe('undo and redo as bounded diffs', () => {
  test('undo and redo across strokes, erasing and switching structures, restore every state exactly', () => {
    const bitmap = new Uint8Array(N);
    stroke(bitmap, 1000, 500, 1); // the seeded result
    const h = new EditHistory(bitmap);
    const states = [bitmap.slice()];
    const edits: [number, number, number][] = [
      [1200, 100, 2], // another structure over part of the first
      [1100, 50, 0], // eraser
      [5_000_000, 2000, 1],
      [1150, 400, 3],
    ];
    for (const [from, count, value] of edits) {
      stroke(bitmap, from, count, value);
      expect(h.record(bitmap)).toBe(true);
      states.push(bitmap.slice());
    }
    for (let i = states.length - 2; i >= 0; i--) {
      expect(h.undo(bitmap)).toBe(true);
      expect(same(bitmap, states[i])).toBe(true);
    }
    expect(h.canUndo()).toBe(false);
    expect(h.undo(bitmap)).toBe(false);
    for (let i = 1; i < states.length; i++) {
      expect(h.redo(bitmap)).toBe(true);
      expect(same(bitmap, states[i])).toBe(true);
    }
    expect(h.canRedo()).toBe(false);
  });

  test('a new stroke after undo drops the redo branch; a stroke that changes nothing is not an edit', () => {
    const bitmap = new Uint8Array(1000);
    const h = new EditHistory(bitmap);
    stroke(bitmap, 0, 10, 1);
    h.record(bitmap);
    stroke(bitmap, 10, 10, 1);
    h.record(bitmap);
    h.undo(bitmap);
    stroke(bitmap, 500, 10, 2);
    h.record(bitmap);
    expect(h.canRedo()).toBe(false);
    expect(h.record(bitmap)).toBe(false);
    h.undo(bitmap);
    h.undo(bitmap);
    expect(bitmap.every((v) => v === 0)).toBe(true);
  });

  test('memory is bounded: at most `limit` strokes, five bytes per changed voxel', () => {
    const bitmap = new Uint8Array(N);
    const h = new EditHistory(bitmap, 50);
    for (let s = 0; s < 120; s++) {
      stroke(bitmap, s * 1000, 100, (s % 3) + 1);
      h.record(bitmap);
    }
    expect(h.diffBytes).toBe(50 * 100 * (4 + 1 + 1));
    let undone = 0;
    while (h.undo(bitmap)) undone++;
    expect(undone).toBe(50);
    // Strokes older than the ring stay; the 50 newest are gone.
    expect(bitmap[69 * 1000]).toBe((69 % 3) + 1);
    expect(bitmap[70 * 1000]).toBe(0);
  });
});
