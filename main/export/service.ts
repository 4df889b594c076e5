import { InputError } from '../common/errors.js';
import { encodeNifti, scanDicomFolder, type Volume } from '../imaging/index.js';
import type { VolumeStore } from '../session/volume-store.js';
import { maskVolume, assertSameGrid } from './nifti-export.js';
import { buildReportHtml } from './report.js';
import { buildSeg, pickReferenceSeries, segUnavailableReason, type SegmentSpec } from './seg/index.js';
import { statsCsv, volumeStats } from './stats.js';
import type { ExportAvailability, ReportRequest, SegExport, SegProvenance, StatsResult } from './types.js';

export type { ExportAvailability, ReportRequest, StatsResult } from './types.js';

export interface ExportHooks {
  /** How a mask was made, when a run of this session made it (workflow); else it counts as drawn by hand. */
  provenance?(maskId: string): SegProvenance | null;
  /** Writes an entry into the library's audit log. */
  audit?(action: string, detail: Record<string, unknown>): Promise<void>;
}

/** Export operations on open volumes, by id: what the API's export methods call. Bytes go back to the renderer. */
export class ExportService {
  constructor(
    private readonly volumes: VolumeStore,
    private readonly hooks: ExportHooks = {},
  ) {}

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
    return encodeNifti(maskVolume(target, labels, mask.description || 'Neuroverse label mask'), {
      intent: 'label',
      sformCode: sform,
      qformCode: target.xformCodes?.qform || sform,
    });
  }

  /**
   * A mask no run of this session made (opened from a file, drawn) is exported as MANUAL: nothing is known of
   * an algorithm, and claiming one would be false provenance.
   */
  async seg(targetId: string, maskId: string, segments?: SegmentSpec[]): Promise<SegExport> {
    const { target, mask } = this.pair(targetId, maskId);
    const reason = segUnavailableReason(target);
    if (reason) throw new InputError(this.volumes.info(targetId).name, reason, 'seg-needs-dicom');
    if (!target.source.path) throw new InputError(this.volumes.info(targetId).name, 'the DICOM files it came from are no longer known; open the series again');
    const scan = await scanDicomFolder(target.source.path);
    const series = pickReferenceSeries(scan, target.source.seriesInstanceUid);
    const provenance = this.hooks.provenance?.(maskId) ?? { type: 'MANUAL' as const };
    const seg = buildSeg(mask, this.volumes.info(maskId).name, { label: target.source.path, headers: series.headers }, { segments, provenance });
    await this.hooks.audit?.('export-seg', {
      sopInstanceUid: seg.sopInstanceUid,
      referenceSeries: series.uid,
      segments: seg.segments.map((s) => s.label),
      provenance: seg.provenance,
      dropped: seg.dropped.map((d) => `${d.keyword} ${d.tag} ${d.action}`),
    });
    return { bytes: seg.bytes, sopInstanceUid: seg.sopInstanceUid, seriesInstanceUid: seg.seriesInstanceUid, provenance: seg.provenance, dropped: seg.dropped };
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
