import { InputError } from '../../common/errors.js';
import { scanDicomFolder, selectSeries, type DicomScan } from '../../imaging/index.js';
import type { DicomSeries } from '../../imaging/dicom/series.js';
import type { Volume } from '../../imaging/volume.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { buildSeg, type SegBuildOptions, type SegBuildResult } from './build.js';

export { buildSeg, SEG_SOP_CLASS } from './build.js';
export type { SegBuildOptions, SegBuildResult, SegmentSpec, SegSummary } from './build.js';
export { terminologyFor } from './terminology.js';

/**
 * The one series of a reference folder a SEG can be drawn on. Several series need an explicit choice;
 * series whose frames are not one plane each (mosaic, several echoes or time points per position)
 * cannot be referenced frame by frame, so they are refused with the reason.
 */
export function pickReferenceSeries(scan: DicomScan, seriesUid?: string): DicomSeries {
  const series = selectSeries(scan, seriesUid, 'pick the reference with --series UID');
  const reason = series.summary.readerReason;
  if (/mosaic|several images per slice/i.test(reason)) {
    throw new InputError(scan.label, `series ${series.uid} cannot carry a DICOM-SEG: ${reason}; a SEG frame must reference one plane of one source frame`);
  }
  if (series.summary.frames < 2) {
    throw new InputError(scan.label, `series ${series.uid} has a single image; a SEG needs a stack of at least two slices to place its frames`);
  }
  if (series.headers.length > 1 && series.headers.some((h) => h.frames > 1)) {
    throw new InputError(scan.label, `series ${series.uid} mixes several multi-frame files; export a SEG per file`);
  }
  return series;
}

export interface ExportSegOptions extends SegBuildOptions {
  seriesUid?: string;
  overwrite?: boolean;
}

/** Builds the SEG of `mask` on the series in `referenceDir` and writes it atomically to `out`. */
export async function exportSeg(
  mask: Volume,
  maskLabel: string,
  referenceDir: string,
  out: string,
  options: ExportSegOptions = {},
): Promise<SegBuildResult & { referenceSeriesUid: string }> {
  const scan = await scanDicomFolder(referenceDir);
  const series = pickReferenceSeries(scan, options.seriesUid);
  const result = buildSeg(mask, maskLabel, { label: referenceDir, headers: series.headers }, options);
  await writeFileAtomic(out, result.bytes, { overwrite: options.overwrite });
  return { ...result, referenceSeriesUid: series.uid };
}

/** Why a volume cannot be exported as DICOM-SEG, or null when it can (shown in the UI next to the button). */
export function segUnavailableReason(target: Volume): string | null {
  if (target.source.kind !== 'dicom') {
    return 'DICOM-SEG needs a DICOM source: its frames must reference the source images by their UIDs, and a NIfTI file has none. Export the mask as NIfTI instead, or open the original DICOM series.';
  }
  return null;
}
