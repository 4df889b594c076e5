import type { SegProvenance } from '../export/types.js';
import { contextIdentity } from '../library/identity.js';
import { fusionMethod } from '../fusion/methods.js';
import type { Method } from '../pipeline/defaults.js';
import { isFusion, isLesionMethod } from '../pipeline/defaults.js';
import { LESION_ALGORITHMS } from '../lesion/algorithms.js';
import type { AlignMode } from '../registration/types.js';
import { appVersion } from '../settings/version.js';

/** What a run's provenance needs of its model package's manifest. */
export interface ModelIdentity {
  name: string;
  provenance?: { sourceSha256?: string };
}

/**
 * How a run made its result, as the app's library and the CLI's JSON report both record it and a DICOM-SEG
 * carries it: the model (name, weights) or the vote, how the pairs were aligned, and which pairs (by content).
 */
export function runProvenance(
  method: Method,
  align: AlignMode,
  model: ModelIdentity | null,
  context: { name: string; pairs: Array<{ imageSha256: string; labelSha256: string }> },
): SegProvenance {
  const weights = model?.provenance?.sourceSha256;
  const fusion = isFusion(method) ? fusionMethod(method) : null;
  const lesion = isLesionMethod(method) ? LESION_ALGORITHMS[method] : null;
  return {
    type: 'AUTOMATIC',
    algorithmName: fusion
      ? fusion.algorithm.name
      : method === 'model'
        ? `Neuroverse3D ${model?.name ?? ''}`.trim()
        : lesion
          ? lesion.name
          : `Neuroverse ${method === 'nlm' ? 'non-local means' : 'bias-field correction'} (learned from the examples)`,
    ...(fusion ? { algorithmFamily: fusion.algorithm.family, methodDescription: fusion.description } : {}),
    ...(lesion ? { algorithmFamily: lesion.family, methodDescription: lesion.description } : {}),
    algorithmVersion: method === 'model' && weights ? `weights sha256 ${weights.slice(0, 16)}` : appVersion(),
    method,
    alignment: align,
    contextSet: { name: context.name, identity: contextIdentity(context.pairs), pairs: context.pairs.length },
    runId: null,
  };
}
