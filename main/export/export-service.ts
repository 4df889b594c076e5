import { InputError } from '../common/errors.js';
import { encodeNifti, scanDicomFolder, type Volume } from '../imaging/index.js';
import type { VolumeStore } from '../session/volume-store.js';
import { maskVolume, assertSameGrid } from './nifti-export.js';
import { buildSeg, pickReferenceSeries, segUnavailableReason, type SegmentSpec } from './seg/index.js';
import { buildSr, type SegReference } from './sr/build.js';
import { statsCsv, volumeStats } from './stats.js';
import type { ExportAvailability, SegExport, SegProvenance, SrExport, StatsResult } from './types.js';

export type { ExportAvailability, ReportRequest, StatsResult } from './types.js';

export interface ExportHooks {
  /** How a mask was made, when a run of this session made it (workflow); else it counts as drawn by hand. */
  provenance?(maskId: string): SegProvenance | null;
  /** Writes an entry into the library's audit log. */
  audit?(action: string, detail: Record<string, unknown>): Promise<void>;
}

/** Export operations on open volumes, by id: what the API's export methods call. Bytes go back to the renderer. */
export class ExportService {
  /** The last SEG exported per mask, with each segment's voxel count: an SR of the unchanged mask references it. */
  private readonly segs = new Map<string, { doc: SegReference; voxels: Map<number, number> }>();

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
    this.segs.set(maskId, {
      doc: {
        label: `SEG ${seg.sopInstanceUid}`,
        sopInstanceUid: seg.sopInstanceUid,
        seriesInstanceUid: seg.seriesInstanceUid,
        studyInstanceUid: String(target.source.studyInstanceUid ?? ''),
        referencedSeries: [series.uid],
        segments: seg.segments.map((s) => ({ number: s.number, name: s.label, recordedValue: s.value })),
      },
      voxels: new Map(seg.segments.map((s) => [s.value, s.voxels])),
    });
    await this.hooks.audit?.('export-seg', {
      sopInstanceUid: seg.sopInstanceUid,
      referenceSeries: series.uid,
      segments: seg.segments.map((s) => s.label),
      provenance: seg.provenance,
      dropped: seg.dropped.map((d) => `${d.keyword} ${d.tag} ${d.action}`),
    });
    return { bytes: seg.bytes, sopInstanceUid: seg.sopInstanceUid, seriesInstanceUid: seg.seriesInstanceUid, provenance: seg.provenance, dropped: seg.dropped };
  }

  /**
   * DICOM SR (TID 1500) of the volume of each segment, on the target's DICOM series. It references the SEG
   * exported from this mask in this session, if the mask has not changed since (same voxel count per segment).
   */
  async sr(targetId: string, maskId: string, segments?: SegmentSpec[]): Promise<SrExport> {
    const { target, mask } = this.pair(targetId, maskId);
    const reason = segUnavailableReason(target);
    if (reason) throw new InputError(this.volumes.info(targetId).name, reason.replace('DICOM-SEG', 'A DICOM SR'), 'seg-needs-dicom');
    if (!target.source.path) throw new InputError(this.volumes.info(targetId).name, 'the DICOM files it came from are no longer known; open the series again');
    const scan = await scanDicomFolder(target.source.path);
    const series = pickReferenceSeries(scan, target.source.seriesInstanceUid);
    const provenance = this.hooks.provenance?.(maskId) ?? { type: 'MANUAL' as const };
    const last = this.segs.get(maskId);
    const counts = new Map(volumeStats(mask).structures.map((s) => [s.value, s.voxels]));
    // Usable only if every reported segment is in that SEG with the voxels the mask has now (not edited since).
    const wanted = segments?.length ? segments.map((s) => s.value) : [...counts.keys()];
    const unchanged = last !== undefined && wanted.every((v) => last.voxels.has(v) && last.voxels.get(v) === counts.get(v));
    const sr = buildSr(
      mask,
      this.volumes.info(maskId).name,
      { label: target.source.path, headers: series.headers },
      { segments, provenance, seg: unchanged ? last!.doc : undefined },
    );
    await this.hooks.audit?.('export-sr', {
      sopInstanceUid: sr.sopInstanceUid,
      referenceSeries: series.uid,
      referencedSeg: unchanged ? last!.doc.sopInstanceUid : null,
    });
    return {
      bytes: sr.bytes,
      sopInstanceUid: sr.sopInstanceUid,
      seriesInstanceUid: sr.seriesInstanceUid,
      measurements: sr.measurements.map(({ label, value, volumeMl, segmentNumber }) => ({
        label,
        value,
        volumeMl,
        ...(segmentNumber !== undefined ? { segmentNumber } : {}),
      })),
      referencedSeg: unchanged ? last!.doc.sopInstanceUid : null,
    };
  }

  stats(maskId: string, names?: Record<number, string>): StatsResult {
    const s = volumeStats(this.volumes.get(maskId), names);
    return { ...s, csv: statsCsv(s) };
  }
}
