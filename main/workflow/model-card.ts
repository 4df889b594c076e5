import type { ModelEvaluation } from './types.js';

/** One row of the card's segmentation table: Dice of the model and of the context-mean baseline. */
export interface CardRow {
  structure: string;
  model: number;
  baseline: number;
}

export interface CardLines {
  /** Null when the package has no evaluation card. */
  evaluated: boolean;
  summary: string | null;
  rows: CardRow[];
  /** The context size L the table was measured at (the card's largest), when the card says. */
  contextSize: number | null;
  /** Dice on real heads through the app (leave-one-out), the model beside atlas vote; null when not measured. */
  realScans: RealScanTable | null;
}

export interface RealScanTable {
  note: string;
  /** Column titles, e.g. "model · affine", "vote · deformable". */
  columns: string[];
  rows: { structure: string; values: (number | null)[] }[];
}

/**
 * What the Run panel shows of a model's evaluation card. The card is read from a package's manifest on
 * disk, so every field is checked: a malformed field is left out rather than shown as "undefined".
 */
export function cardLines(evaluation: ModelEvaluation | null | undefined): CardLines {
  if (!evaluation || typeof evaluation !== 'object') return { evaluated: false, summary: null, rows: [], contextSize: null, realScans: null };
  const summary = typeof evaluation.summary === 'string' && evaluation.summary.trim() ? evaluation.summary.trim() : null;
  const seg = evaluation.segmentation as { table?: unknown; contextSizes?: unknown } | undefined;
  const table = seg && typeof seg === 'object' && Array.isArray(seg.table) ? seg.table : [];
  const rows = table.filter(
    (r): r is CardRow =>
      typeof r === 'object' && r !== null && typeof r.structure === 'string' && Number.isFinite(r.model) && Number.isFinite(r.baseline),
  );
  const sizes = seg && typeof seg === 'object' && Array.isArray(seg.contextSizes) ? seg.contextSizes.filter(Number.isFinite) : [];
  return {
    evaluated: true,
    summary,
    rows: rows.map(({ structure, model, baseline }) => ({ structure, model, baseline })),
    contextSize: sizes.length ? Math.max(...sizes) : null,
    realScans: realScanTable(evaluation.realScans),
  };
}

/**
 * `evaluation.realScans` as scripts/eval-freesurfer.ts writes it: `{ note, columns: [{ method, align }],
 * dice: { structure: [value per column] } }`.
 */
function realScanTable(r: unknown): RealScanTable | null {
  if (!r || typeof r !== 'object') return null;
  const o = r as { note?: unknown; columns?: unknown; dice?: unknown };
  if (!Array.isArray(o.columns) || !o.dice || typeof o.dice !== 'object') return null;
  const columns = o.columns.filter((c): c is { method: string; align: string } => typeof c?.method === 'string' && typeof c?.align === 'string');
  if (columns.length !== o.columns.length || columns.length === 0) return null;
  const rows = Object.entries(o.dice as Record<string, unknown>)
    .filter(([, v]) => Array.isArray(v) && v.length === columns.length)
    .map(([structure, v]) => ({ structure, values: (v as unknown[]).map((x) => (typeof x === 'number' && Number.isFinite(x) ? x : null)) }));
  if (rows.length === 0) return null;
  return { note: typeof o.note === 'string' ? o.note : '', columns: columns.map((c) => `${c.method === 'vote' ? 'vote' : 'model'} · ${c.align}`), rows };
}
