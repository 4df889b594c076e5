/**
 * Plain data types of the export services that cross the API. Kept free of Node imports so the
 * renderer can type-check against them (main/api/types.ts re-exports them).
 */

export interface SegmentSpec {
  /** Label shown by viewers ("Left-Hippocampus"); also picks the coded terminology. */
  label: string;
  /** Voxel value of the structure in the mask. */
  value: number;
  description?: string;
  /** A lesion run's segment: coded as a Lesion (Morphologically Altered Structure) when its name says nothing more. */
  kind?: 'anatomy' | 'lesion';
}

export interface StructureStats {
  value: number;
  name: string;
  voxels: number;
  /** Millilitres: voxel count × voxel volume (|det| of the affine's 3×3 part, mm³) / 1000. */
  volumeMl: number;
}

export interface VolumeStats {
  voxelVolumeMm3: number;
  structures: StructureStats[];
}

export interface StatsResult extends VolumeStats {
  csv: string;
}

export interface ExportAvailability {
  seg: boolean;
  /** Why DICOM-SEG is not offered (a NIfTI target), shown next to the disabled button. */
  segReason?: string;
}

export interface ReportModel {
  name: string;
  version?: string;
  checkpoint?: string;
}

export interface ReportContextSet {
  name: string;
  /** Names of the image/label pairs the model was given. */
  pairs: string[];
}

/** The app's report of a result (workflow/result-report.ts); how the result was made comes from its run. */
export interface ReportRequest {
  /** For masks no run of this session made: the values to report and their names (default: every value, aseg names). */
  names?: Record<number, string>;
  /** For the norms, instead of the DICOM header's PatientAge/PatientBirthDate and PatientSex. */
  age?: number;
  sex?: string;
  /** Estimate the intracranial volume (% ICV, percentiles); default true. Lesion results are never normed. */
  icv?: boolean;
}

/**
 * How a segmentation was made, written into its DICOM-SEG (Contributing Equipment, Segment Algorithm
 * Type/Name, Segmentation Algorithm Identification) and into the library's audit log alike.
 */
export interface SegProvenance {
  /** AUTOMATIC for a run's result, SEMIAUTOMATIC once it was corrected by hand, MANUAL for drawn masks. */
  type: 'AUTOMATIC' | 'SEMIAUTOMATIC' | 'MANUAL';
  /** "Neuroverse3D <model>" or "atlas vote"; required unless MANUAL. */
  algorithmName?: string;
  /** The model package's version or checkpoint identity. */
  algorithmVersion?: string;
  /** 'model', a fusion method's id (fusion/methods.ts) a restoration ('nlm', 'bias-field') or a lesion method ('classifier', 'threshold'). */
  method?: string;
  /** The method's Algorithm Family code; absent: the model's (AI) or, for 'vote', atlas vote's. */
  algorithmFamily?: { CodeValue: string; CodingSchemeDesignator: string; CodeMeaning: string };
  /** One phrase of how the method made it, for the SEG's algorithm parameters. */
  methodDescription?: string;
  alignment?: string;
  contextSet?: { name: string; identity: string; pairs: number };
  /** The library's run id. */
  runId?: number | null;
}

/** A copied source attribute the SEG left out because its value breaks its VR. */
export interface DroppedAttribute {
  keyword: string;
  tag: string;
  /** dropped: left out; emptied: the SEG must have it, so it is present and empty; kept: required and kept as is. */
  action: 'dropped' | 'emptied' | 'kept';
  problems: string[];
}

/** What the API's exportSeg returns: the file, and what the export had to say about it. */
export interface SegExport {
  bytes: Uint8Array;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  provenance: SegProvenance;
  dropped: DroppedAttribute[];
}

/** What the API's exportSr returns: the Structured Report (TID 1500) and the volumes it states. */
export interface SrExport {
  bytes: Uint8Array;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  measurements: { label: string; value: number; volumeMl: number; segmentNumber?: number }[];
  /** The SEG of this session it references, when one was exported from the same, unchanged mask. */
  referencedSeg: string | null;
}
