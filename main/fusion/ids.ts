/**
 * The fusion methods' ids and names as plain data (the renderer's Run panel reads them; it cannot load the
 * table in methods.ts, which starts worker threads). Adding a method: its id and name here, its entry there.
 */
export const FUSION_IDS = ['vote', 'jlf'] as const;
export type FusionId = (typeof FUSION_IDS)[number];
export const FUSION_NAMES: Record<FusionId, string> = { vote: 'atlas vote', jlf: 'joint label fusion' };
