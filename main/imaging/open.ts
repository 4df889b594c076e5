import { stat } from 'node:fs/promises';
import { InputError } from '../common/errors.js';
import { importSeries, scanDicomFolder, type DicomScan, type Progress, type SeriesDecoder } from './dicom/index.js';
import { readHeader } from './dicom/header.js';
import { isSegHeader } from './dicom/seg.js';
import { fileProblem } from '../common/errors.js';
import { readDicomFile } from './dicom/files.js';
import { readNifti } from './nifti/read.js';
import type { Volume } from './volume.js';

export function isNiftiName(name: string): boolean {
  return /\.nii(\.gz)?$/i.test(name);
}

export type OpenedPath =
  /** `scan` is the folder the volume was imported from: SEGs beside its series open with it. */
  | { kind: 'volume'; volume: Volume; scan?: DicomScan }
  | { kind: 'scan'; scan: DicomScan }
  /** DICOM-SEG files without their series: they open on a series the caller already has. */
  | { kind: 'segs'; scan: DicomScan };

/**
 * A NIfTI file, a DICOM folder, or a DICOM-SEG file. A folder with several series returns the scan for
 * the caller to ask; a folder or file holding only SEGs returns them for the caller to place. `decode` is
 * where a series' pixels are assembled (importSeries).
 */
export async function openImagePath(
  path: string,
  seriesUid?: string,
  progress?: Progress,
  signal?: AbortSignal,
  decode?: SeriesDecoder,
  /** Which volume of a series that makes several (name or 1-based number). */
  pick?: string,
): Promise<OpenedPath> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new InputError(path, fileProblem(err));
  }
  if (info.isDirectory()) {
    const scan = await scanDicomFolder(path, progress, signal);
    if (scan.series.length === 0) return { kind: 'segs', scan };
    if (scan.series.length > 1 && !seriesUid) return { kind: 'scan', scan };
    return { kind: 'volume', volume: await importSeries(scan, seriesUid, progress, decode, signal, pick), scan };
  }
  if (pick !== undefined) throw new InputError(path, 'choosing a volume applies to a DICOM series only', 'usage');
  if (isNiftiName(path)) {
    progress?.('read', null, `Reading ${path}`);
    return { kind: 'volume', volume: await readNifti(path) };
  }
  // A single DICOM file is opened only when it is a SEG: a lone slice read without its series would mislead.
  const header = readHeader(await readDicomFile(path));
  if (header && isSegHeader(header)) return { kind: 'segs', scan: { label: path, series: [], segs: [header], skipped: [] } };
  throw new InputError(path, 'not a NIfTI file (.nii, .nii.gz), a DICOM folder or a DICOM-SEG file');
}
