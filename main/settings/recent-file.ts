export interface RecentFile {
  id: string;
  name: string;
  /** Where it was opened from; for uploads, the cached copy in the data folder. */
  path: string;
  kind: 'nifti' | 'dicom';
  openedAt: string;
  seriesInstanceUid?: string;
}
