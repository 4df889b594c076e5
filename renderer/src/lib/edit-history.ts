/**
 * Undo and redo for the correction tools as bounded diffs: each stroke keeps only the voxels it changed (index,
 * old value, new value), at most `limit` strokes. Memory is one copy of the bitmap (to find what a stroke
 * changed) plus five bytes per changed voxel, instead of a full bitmap per stroke (16.7 MB each at 256³).
 */
interface Edit {
  at: Uint32Array;
  before: Uint8Array;
  after: Uint8Array;
}

export class EditHistory {
  private last: Uint8Array;
  private edits: Edit[] = [];
  /** Number of edits currently applied (edits[done..] are redoable). */
  private done = 0;

  constructor(
    initial: Uint8Array,
    readonly limit = 50,
  ) {
    this.last = new Uint8Array(initial);
  }

  /** After a stroke: records what changed since the last record; a stroke that changed nothing is not kept. */
  record(current: Uint8Array): boolean {
    if (current.length !== this.last.length) throw new Error(`drawing has ${current.length} voxels, the history ${this.last.length}`);
    let n = 0;
    for (let i = 0; i < current.length; i++) if (current[i] !== this.last[i]) n++;
    if (n === 0) return false;
    const edit: Edit = { at: new Uint32Array(n), before: new Uint8Array(n), after: new Uint8Array(n) };
    for (let i = 0, k = 0; i < current.length; i++) {
      if (current[i] === this.last[i]) continue;
      edit.at[k] = i;
      edit.before[k] = this.last[i];
      edit.after[k++] = current[i];
      this.last[i] = current[i];
    }
    this.edits.length = this.done; // a new stroke drops what could have been redone
    this.edits.push(edit);
    if (this.edits.length > this.limit) this.edits.shift();
    this.done = this.edits.length;
    return true;
  }

  canUndo(): boolean {
    return this.done > 0;
  }

  canRedo(): boolean {
    return this.done < this.edits.length;
  }

  /** Puts the voxels of the last applied stroke back in `bitmap` (in place); false when there is none. */
  undo(bitmap: Uint8Array): boolean {
    if (!this.canUndo()) return false;
    this.apply(this.edits[--this.done], 'before', bitmap);
    return true;
  }

  redo(bitmap: Uint8Array): boolean {
    if (!this.canRedo()) return false;
    this.apply(this.edits[this.done++], 'after', bitmap);
    return true;
  }

  /** Bytes held for undo beyond the one bitmap copy. */
  get diffBytes(): number {
    return this.edits.reduce((s, e) => s + e.at.byteLength + e.before.byteLength + e.after.byteLength, 0);
  }

  private apply(e: Edit, side: 'before' | 'after', bitmap: Uint8Array): void {
    const values = e[side];
    for (let k = 0; k < e.at.length; k++) {
      bitmap[e.at[k]] = values[k];
      this.last[e.at[k]] = values[k];
    }
  }
}
