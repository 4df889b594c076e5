import { readDicomFile } from '../../imaging/dicom/files.js';
import { readSeg } from '../../imaging/dicom/seg.js';
import { scanDicomFolder } from '../../imaging/index.js';
import type { Volume } from '../../imaging/volume.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { pickReferenceSeries } from '../seg/index.js';
import { buildSr, type SrBuildOptions, type SrBuildResult } from './build.js';

export { buildSr, COMPREHENSIVE_SR } from './build.js';
export type { SegReference, SrBuildOptions, SrBuildResult, SrMeasurement } from './build.js';

export interface ExportSrOptions extends Omit<SrBuildOptions, 'seg'> {
  seriesUid?: string;
  /** A DICOM-SEG file of the same mask on the same series (e.g. from export-seg): each volume references its segment. */
  segFile?: string;
  overwrite?: boolean;
}

/** Builds the volume SR of `mask` on the series in `referenceDir` and writes it atomically to `out`. */
export async function exportSr(
  mask: Volume,
  maskLabel: string,
  referenceDir: string,
  out: string,
  options: ExportSrOptions = {},
): Promise<SrBuildResult & { referenceSeriesUid: string }> {
  const scan = await scanDicomFolder(referenceDir);
  const series = pickReferenceSeries(scan, options.seriesUid);
  const seg = options.segFile ? readSeg(await readDicomFile(options.segFile)) : undefined;
  const result = buildSr(mask, maskLabel, { label: referenceDir, headers: series.headers }, { ...options, seg });
  await writeFileAtomic(out, result.bytes, { overwrite: options.overwrite });
  return { ...result, referenceSeriesUid: series.uid };
}
