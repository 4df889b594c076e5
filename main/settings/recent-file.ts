export interface RecentFile {
  id: string;
  name: string;
  /** Where it was opened from; for uploads, the cached copy in the data folder. */
  path: string;
  kind: 'nifti' | 'dicom';
  openedAt: string;
  seriesInstanceUid?: string;
  /** Which volume of a series that makes several (its name), so that reopening it opens the same one. */
  volume?: string;
}
