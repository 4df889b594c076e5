import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InputError } from '../common/errors.js';
import { encodeNifti, openImagePath, type NiftiEncodeOptions, type Volume } from '../imaging/index.js';
import { gzipAsync } from '../util/gzip.js';
import { describeNifti, type VolumeMeta } from './volumes.js';

/**
 * A volume to add: a NIfTI file or DICOM folder on disk, or a volume in memory (open in the app, or a
 * run's result), stored as gzipped NIfTI with `intent` in its header.
 */
export type VolumeInput = { path: string } | { volume: Volume; name?: string; intent?: NiftiEncodeOptions['intent'] };

export interface LoadedVolume {
  meta: VolumeMeta;
  bytes: Uint8Array;
  volume: Volume;
  /** Where it came from, for provenance (absolute path, or the open volume's name). */
  source: string;
  /** What error messages call it. */
  display: string;
}

export async function loadVolume(input: VolumeInput): Promise<LoadedVolume> {
  if ('volume' in input) {
    // An open volume (possibly a DICOM import or an edited mask): store it as gzipped NIfTI.
    const raw = encodeNifti(input.volume, { intent: input.intent });
    const bytes = await gzipAsync(raw, 6);
    const display = input.name ?? input.volume.source.path ?? 'open volume';
    const { meta } = await describeNifti(bytes, display, raw);
    return { meta, bytes, volume: input.volume, source: input.volume.source.path ?? display, display };
  }
  const path = resolve(input.path);
  const st = await stat(path).catch(() => null);
  if (st?.isDirectory()) {
    const opened = await openImagePath(path);
    if (opened.kind === 'segs')
      throw new InputError(path, 'holds only DICOM-SEG files; convert the SEG to NIfTI on its series first (neuroverse convert seg.dcm --out mask.nii.gz)');
    if (opened.kind !== 'volume')
      throw new InputError(path, `holds ${opened.scan.series.length} DICOM series; convert the one you want to NIfTI first`, 'several-series');
    const raw = encodeNifti(opened.volume);
    const bytes = await gzipAsync(raw, 6);
    const { meta } = await describeNifti(bytes, path, raw);
    return { meta, bytes, volume: opened.volume, source: path, display: input.path };
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new InputError(input.path, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message);
  }
  // The file's bytes are kept exactly as given, so its sha256 is the one the user can compute.
  const { meta, volume } = await describeNifti(bytes, input.path);
  return { meta, bytes, volume, source: path, display: input.path };
}
