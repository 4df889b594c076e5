import type { RunProgress } from './orchestrate-run.js';

/**
 * A run's progress in words, the same for the app's progress line and the CLI's status line. Structures are
 * named only when a run has several (a one-structure run's line needs no name).
 */
export function progressText(p: RunProgress): string {
  switch (p.stage) {
    case 'load-model':
      return 'Loading the model';
    case 'save':
      return 'Saving the result';
    case 'align': {
      const what = p.choosing ? 'candidate pairs (affine) to choose the context' : `context pairs to the target (${p.mode})`;
      if (p.pairsDone === 0) return `Aligning ${p.pairsTotal} ${what}`;
      const pair = p.cached ? 'already aligned (cache)' : `aligned (${p.mode}, ${p.seconds.toFixed(0)} s)`;
      return `${p.choosing ? 'choosing the context: ' : ''}pair ${p.pairsDone} of ${p.pairsTotal} ${pair}`;
    }
    case 'vote':
      return `${named(p)}${p.method === 'vote' ? 'majority vote' : p.method} of ${p.pairs} aligned label maps`;
    case 'lesion':
      return `${named(p)}${p.step}`;
    case 'mini-context':
      return `${named(p)}${p.tile ? `tile ${p.tile}/${p.tiles}: ` : ''}mini-context ${p.miniContext}/${p.miniContexts} (${p.pairsDone}/${p.pairsTotal} pairs)`;
    case 'restore':
      return p.detail;
  }
}

function named(p: { structureName?: string; structures?: number }): string {
  return p.structureName && (p.structures ?? 1) > 1 ? `${p.structureName}: ` : '';
}
