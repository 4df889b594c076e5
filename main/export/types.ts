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

export interface ReportRequest {
  model: ReportModel;
  contextSet: ReportContextSet;
  names?: Record<number, string>;
  notes?: string[];
}
