import type { RunSummary } from '../export/scan-report.js';
import type { SegProvenance } from '../export/types.js';
import type { StructureRequest } from './types.js';

/** Where a run's result (or a corrected copy of it) came from: what its corrections and exports need to know. */
export interface ResultOrigin {
  setName: string;
  targetVolumeId: string;
  structures: StructureRequest[];
  /** What its DICOM-SEG and the audit log say of how it was made. */
  provenance: SegProvenance;
  /** The run's method, alignment, doubt and QC warnings, for its report (export/scan-report.ts). */
  run?: RunSummary;
  /** SHA-256 of the pair images the run registered to its scan (workflow/batch.ts registeredImages). */
  registeredImages?: string[];
}
