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
  /** The same heads at several context sizes (model and vote per size, with seconds); null when not measured. */
  realScansBySize: RealScanSizeTable | null;
  /** Restoration on real heads with noise or a bias field added: each method's gain over its input; null when not measured. */
  restoration: RestorationTable | null;
}

export interface RestorationTable {
  note: string;
  /**
   * Per task (noise, bias) and method ("default (nlm)", the baseline, the model): mean PSNR (dB) and SSIM gained over
   * the degraded input on the heads measured, and on how many of them the default returned its input (the guard).
   */
  rows: { task: string; method: string; heads: number; psnrGain: number; ssimGain: number; inputKept: number }[];
}

export interface RealScanSizeTable {
  note: string;
  structures: string[];
  /** One row per method · alignment and context size L. */
  rows: { method: string; size: number; values: (number | null)[]; seconds: number | null }[];
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
  if (!evaluation || typeof evaluation !== 'object')
    return { evaluated: false, summary: null, rows: [], contextSize: null, realScans: null, realScansBySize: null, restoration: null };
  const summary = typeof evaluation.summary === 'string' && evaluation.summary.trim() ? evaluation.summary.trim() : null;
  const seg = evaluation.segmentation as { table?: unknown; contextSizes?: unknown } | undefined;
  const table = seg && typeof seg === 'object' && Array.isArray(seg.table) ? seg.table : [];
  const rows = table.filter(
    (r): r is CardRow => typeof r === 'object' && r !== null && typeof r.structure === 'string' && Number.isFinite(r.model) && Number.isFinite(r.baseline),
  );
  const sizes = seg && typeof seg === 'object' && Array.isArray(seg.contextSizes) ? seg.contextSizes.filter(Number.isFinite) : [];
  return {
    evaluated: true,
    summary,
    rows: rows.map(({ structure, model, baseline }) => ({ structure, model, baseline })),
    contextSize: sizes.length ? Math.max(...sizes) : null,
    realScans: realScanTable(evaluation.realScans),
    realScansBySize: realScanSizeTable(evaluation.realScansBySize),
    restoration: restorationTable(evaluation.restoration),
  };
}

/** `evaluation.restoration` as scripts/eval/eval-restoration.ts writes it: `{ note, rows: [...] }`; malformed rows are left out. */
function restorationTable(r: unknown): RestorationTable | null {
  if (!r || typeof r !== 'object') return null;
  const o = r as { note?: unknown; rows?: unknown };
  if (!Array.isArray(o.rows)) return null;
  const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  const rows = o.rows
    .filter(
      (x): x is RestorationTable['rows'][number] =>
        typeof x?.task === 'string' &&
        typeof x.method === 'string' &&
        Number.isInteger(x.heads) &&
        x.heads > 0 &&
        num(x.psnrGain) &&
        num(x.ssimGain) &&
        Number.isInteger(x.inputKept),
    )
    .map(({ task, method, heads, psnrGain, ssimGain, inputKept }) => ({ task, method, heads, psnrGain, ssimGain, inputKept }));
  return rows.length ? { note: typeof o.note === 'string' ? o.note : '', rows } : null;
}

/**
 * `evaluation.realScans` as scripts/eval/freesurfer-loo.ts writes it: `{ note, columns: [{ method, align }],
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

/**
 * `evaluation.realScansBySize`: `{ note, sizes: [L...], columns: { "model|affine": { dice: { structure: [value
 * per size] }, seconds: [per size] } } }`, turned into rows of method × size.
 */
function realScanSizeTable(r: unknown): RealScanSizeTable | null {
  if (!r || typeof r !== 'object') return null;
  const o = r as { note?: unknown; sizes?: unknown; columns?: unknown };
  if (!Array.isArray(o.sizes) || o.sizes.length === 0 || !o.sizes.every((n) => Number.isInteger(n) && n > 0)) return null;
  if (!o.columns || typeof o.columns !== 'object') return null;
  const sizes = o.sizes as number[];
  const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
  let structures: string[] | null = null;
  const rows: RealScanSizeTable['rows'] = [];
  for (const [key, c] of Object.entries(o.columns as Record<string, unknown>)) {
    const [method, align] = key.split('|');
    const col = c as { dice?: unknown; seconds?: unknown };
    if (!method || !align || !col?.dice || typeof col.dice !== 'object') return null;
    const dice = col.dice as Record<string, unknown>;
    const names = Object.keys(dice);
    if (structures === null) structures = names;
    if (names.join() !== structures.join() || names.some((n) => !Array.isArray(dice[n]) || (dice[n] as unknown[]).length !== sizes.length)) return null;
    const seconds = Array.isArray(col.seconds) && col.seconds.length === sizes.length ? col.seconds : [];
    sizes.forEach((size, i) =>
      rows.push({
        method: `${method === 'vote' ? 'vote' : 'model'} · ${align}`,
        size,
        values: names.map((n) => num((dice[n] as unknown[])[i])),
        seconds: num(seconds[i]),
      }),
    );
  }
  if (!structures || rows.length === 0) return null;
  return { note: typeof o.note === 'string' ? o.note : '', structures, rows };
}
