import type { ScannerInfo } from './types.js';

export interface ScannerMatch {
  manufacturer: boolean;
  model: boolean;
  sequence: boolean;
  /** ½ for the manufacturer, ¼ more for the model (same manufacturer), ¼ for the sequence name: 0–1. */
  score: number;
}

const norm = (x: unknown) =>
  String(x ?? '')
    .trim()
    .toLowerCase();

/** How far a set's scanner matches a target's DICOM header (manufacturer, model, sequence name); 0 without a header. */
export function scannerMatch(scanner: Pick<ScannerInfo, 'manufacturer' | 'model' | 'sequence'>, dicom: Record<string, unknown> | undefined): ScannerMatch {
  const d = dicom ?? {};
  const manufacturer = norm(d.manufacturer) !== '' && norm(d.manufacturer) === norm(scanner.manufacturer);
  const model = manufacturer && norm(d.model) !== '' && norm(d.model) === norm(scanner.model);
  const sequence = norm(d.sequence) !== '' && norm(d.sequence) === norm(scanner.sequence);
  return { manufacturer, model, sequence, score: (manufacturer ? 0.5 : 0) + (model ? 0.25 : 0) + (sequence ? 0.25 : 0) };
}
