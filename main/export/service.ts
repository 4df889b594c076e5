import { InputError } from '../common/errors.js';
import { encodeNifti, scanDicomFolder, type Volume } from '../imaging/index.js';
import type { VolumeStore } from '../session/volume-store.js';
import { maskVolume, assertSameGrid } from './nifti-export.js';
import { buildReportHtml } from './report.js';
import { buildSeg, pickReferenceSeries, segUnavailableReason, type SegmentSpec } from './seg/index.js';
import { statsCsv, volumeStats } from './stats.js';
import type { ExportAvailability, ReportRequest, StatsResult } from './types.js';

export type { ExportAvailability, ReportRequest, StatsResult } from './types.js';

/** Export operations on open volumes, by id: what the API's export methods call. Bytes go back to the renderer. */
export class ExportService {
  constructor(private readonly volumes: VolumeStore) {}

  private pair(targetId: string, maskId: string): { target: Volume; mask: Volume } {
    const target = this.volumes.get(targetId);
    const mask = this.volumes.get(maskId);
    assertSameGrid(target, mask, 'mask', this.volumes.info(maskId).name);
    return { target, mask };
  }

  availability(targetId: string): ExportAvailability {
    const reason = segUnavailableReason(this.volumes.get(targetId));
    return reason ? { seg: false, segReason: reason } : { seg: true };
  }

  maskNifti(targetId: string, maskId: string): Uint8Array {
    const { target, mask } = this.pair(targetId, maskId);
    const labels = new Float64Array(mask.data.length);
    for (let i = 0; i < labels.length; i++) labels[i] = Math.round(mask.data[i] * mask.slope + mask.intercept);
    const sform = target.xformCodes?.sform || target.xformCodes?.qform || 1;
    return encodeNifti(maskVolume(target, labels, mask.description || 'Neuroverse label mask'), { intent: 'label', sformCode: sform, qformCode: target.xformCodes?.qform || sform });
  }

  async seg(targetId: string, maskId: string, segments?: SegmentSpec[]): Promise<Uint8Array> {
    const { target, mask } = this.pair(targetId, maskId);
    const reason = segUnavailableReason(target);
    if (reason) throw new InputError(this.volumes.info(targetId).name, reason, 'seg-needs-dicom');
    if (!target.source.path) throw new InputError(this.volumes.info(targetId).name, 'the DICOM files it came from are no longer known; open the series again');
    const scan = await scanDicomFolder(target.source.path);
    const series = pickReferenceSeries(scan, target.source.seriesInstanceUid);
    return buildSeg(mask, this.volumes.info(maskId).name, { label: target.source.path, headers: series.headers }, { segments }).bytes;
  }

  stats(maskId: string, names?: Record<number, string>): StatsResult {
    const s = volumeStats(this.volumes.get(maskId), names);
    return { ...s, csv: statsCsv(s) };
  }

  report(targetId: string, maskId: string, request: ReportRequest): Uint8Array {
    const { target, mask } = this.pair(targetId, maskId);
    const html = buildReportHtml({
      target,
      targetName: this.volumes.info(targetId).name,
      mask,
      stats: volumeStats(mask, request.names),
      model: request.model,
      contextSet: request.contextSet,
      createdAt: new Date().toISOString(),
      notes: request.notes,
    });
    return new TextEncoder().encode(html);
  }
}
