import { stat } from 'node:fs/promises';
import { InputError } from '../common/errors.js';
import { importSeries, scanDicomFolder, type DicomScan, type Progress } from './dicom/index.js';
import { fileProblem } from '../common/errors.js';
import { readNifti } from './nifti/read.js';
import type { Volume } from './volume.js';

export function isNiftiName(name: string): boolean {
  return /\.nii(\.gz)?$/i.test(name);
}

export type OpenedPath = { kind: 'volume'; volume: Volume } | { kind: 'scan'; scan: DicomScan };

/**
 * A NIfTI file or a DICOM folder (or a single DICOM file, read as the folder it sits in would be
 * misleading, so it is read alone). A folder with several series returns the scan for the caller to ask.
 */
export async function openImagePath(path: string, seriesUid?: string, progress?: Progress, signal?: AbortSignal): Promise<OpenedPath> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new InputError(path, fileProblem(err));
  }
  if (info.isDirectory()) {
    const scan = await scanDicomFolder(path, progress, signal);
    if (scan.series.length > 1 && !seriesUid) return { kind: 'scan', scan };
    return { kind: 'volume', volume: await importSeries(scan, seriesUid, progress) };
  }
  if (isNiftiName(path)) {
    progress?.('read', null, `Reading ${path}`);
    return { kind: 'volume', volume: await readNifti(path) };
  }
  throw new InputError(path, 'not a NIfTI file (.nii, .nii.gz) or a DICOM folder');
}
