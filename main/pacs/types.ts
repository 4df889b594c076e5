/** Plain data types of the PACS services that cross the API (no Node imports: the renderer checks against them). */

/** A remote DICOM application entity (a PACS, a workstation). */
export interface DicomNode {
  name: string;
  aeTitle: string;
  host: string;
  port: number;
}

export interface PacsConfig {
  /** Our own AE title, the calling AE in every association (PACS usually check it). */
  localAeTitle: string;
  nodes: DicomNode[];
}

export type FindLevel = 'STUDY' | 'SERIES';

export interface FindQuery {
  level: FindLevel;
  patientId?: string;
  patientName?: string;
  studyInstanceUid?: string;
  accessionNumber?: string;
  studyDate?: string;
  modality?: string;
}

export type FindMatch = Record<string, string | number>;

export interface StoreResult {
  sent: number;
  failed: { file: string; problem: string }[];
}
