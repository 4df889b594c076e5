import { basename } from 'node:path';
import type { RunOutcome, RunStructure } from './orchestrate-run.js';
import type { ContextChoiceInfo, RunTaskResult } from './types.js';

/**
 * The app's view of an orchestrated run, what the API returns to the renderer: the outcome with the ids of the
 * session volumes its result (and doubt map, when it has doubt) were opened as.
 */
export function runTaskResult(outcome: RunOutcome, volumeId: string, uncertainty: RunTaskResult['uncertainty']): RunTaskResult {
  const first = outcome.structures[0];
  return {
    volumeId,
    task: outcome.task,
    contextSet: outcome.contextName,
    model: outcome.model?.id ?? null,
    method: outcome.method,
    align: outcome.align,
    alignment: outcome.alignment,
    contextSize: first.contextSize,
    miniContext: first.miniContext,
    miniContexts: outcome.miniContexts,
    provider: outcome.choice?.provider ?? null,
    providerReason: outcome.choice?.reason ?? null,
    providerAttempts: outcome.choice?.attempts ?? null,
    precision: outcome.choice?.precision ?? null,
    structures: outcome.labelStats,
    baseline: outcome.structures.some((s) => s.baseline)
      ? outcome.structures.flatMap((s) => (s.baseline ? [{ name: s.name, voteMl: s.baseline.voteMl, agreement: s.baseline.agreement }] : []))
      : null,
    uncertainty,
    contextChoice: outcome.structures.some((s) => s.contextChoice) ? outcome.structures.map((s) => choiceInfo(s.name, s.contextChoice!)) : null,
    restoration: outcome.restoration
      ? { why: outcome.restoration.why, examples: outcome.restoration.guard.message, applied: outcome.restoration.applied }
      : null,
    lesion: first.lesion
      ? {
          count: first.lesion.stats.count,
          totalMl: first.lesion.stats.totalMl,
          lesions: first.lesion.stats.lesions.map((l) => ({ index: l.index, volumeMl: l.volumeMl })),
          exampleDice: first.lesion.exampleDice,
        }
      : null,
    qc: outcome.qc.map((w) => ({ kind: w.kind, structure: w.structure, pairId: w.pair?.pairId ?? null, value: w.value, message: w.message })),
    seconds: outcome.seconds,
    runId: outcome.runId,
  };
}

/** The app's ranking rows: the user knows a pair by its position in the set and the file it was added from. */
function choiceInfo(structure: string, choice: NonNullable<RunStructure['contextChoice']>): ContextChoiceInfo {
  return {
    structure,
    n: choice.n,
    from: choice.from,
    pairs: choice.rows.map((c) => ({
      pairId: c.pair.pairId!,
      position: c.pair.position!,
      name: `${c.pair.name}${c.pair.imageSource ? ` · ${basename(c.pair.imageSource)}` : ''}`,
      similarity: c.similarity,
      headerMatch: c.headerMatch,
      rank: c.rank,
      chosen: c.chosen,
    })),
  };
}
