/**
 * Algorithm 1 of the paper: the context representation is a pair-count-weighted running mean over
 * mini-contexts, so any partition and any order of the L pairs gives the mean over all L pairs.
 * M ← α·M + (1−α)·m with α = w / (w + k), w ← w + k.
 */
export class RunningMean {
  private acc: Float32Array[] | undefined;
  private w = 0;

  get pairs(): number {
    return this.w;
  }

  merge(means: Float32Array[], k: number): void {
    if (k <= 0) throw new Error('RunningMean.merge: a mini-context has at least one pair');
    if (!this.acc) {
      // First merge copies (α = 0); copying also detaches us from ORT's output buffers.
      this.acc = means.map((m) => Float32Array.from(m));
      this.w = k;
      return;
    }
    if (means.length !== this.acc.length) throw new Error('RunningMean.merge: level count changed between mini-contexts');
    const alpha = this.w / (this.w + k);
    const beta = k / (this.w + k);
    for (let i = 0; i < means.length; i++) {
      const a = this.acc[i];
      const m = means[i];
      if (a.length !== m.length) throw new Error('RunningMean.merge: level size changed between mini-contexts');
      for (let j = 0; j < a.length; j++) a[j] = alpha * a[j] + beta * m[j];
    }
    this.w += k;
  }

  result(): Float32Array[] {
    if (!this.acc) throw new Error('RunningMean.result: no mini-context was merged');
    return this.acc;
  }
}
