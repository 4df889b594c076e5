/**
 * A step of a run as data. Words for people are made once, at the edge (workflow/progress-text.ts): the app's
 * progress events and the CLI's status line say the same thing, and nothing parses a message back into numbers.
 */
export type PipelineProgress =
  | {
      stage: 'align';
      fraction: number;
      pairsDone: number;
      pairsTotal: number;
      /** The pair just finished came from the registration cache. */
      cached: boolean;
      /** Seconds its registration took (0 from the cache). */
      seconds: number;
      mode: 'none' | 'affine' | 'deformable';
      /** Aligning the candidates to choose the context from (automatic context choice). */
      choosing: boolean;
    }
  | { stage: 'vote'; fraction: null; structure: number; pairs: number; method: string }
  | {
      stage: 'mini-context';
      fraction: number;
      /** 0-based index into the run's structures. */
      structure: number;
      miniContext: number;
      miniContexts: number;
      pairsDone: number;
      pairsTotal: number;
      /** Tiled generation: the tile (1-based) of how many; the counts above are that tile's. */
      tile?: number;
      tiles?: number;
    }
  /** Classical restoration (restoration/): learning from the examples, then restoring the target. */
  | { stage: 'restore'; fraction: number | null; step: 'examples' | 'target'; detail: string }
  /** Lesion methods: the worker's step (reading, features, fitting, cleanup), in its own words. */
  | { stage: 'lesion'; fraction: number | null; structure: number; step: string };
