import { basename } from 'node:path';
import { InputError } from '../common/errors.js';
import { readSeg, scanDicomFolder, segToLabelMap, selectSeries, type DicomScan, type SegLabelMap } from '../imaging/index.js';
import type { VolumeInfo } from './opened-volume.js';
import type { VolumeStore } from './volume-store.js';

/** "seg.dcm · Hippocampus SEG": the file says which export it was, the description what it holds. */
export function segVolumeName(map: SegLabelMap): string {
  const file = basename(map.volume.source.path ?? 'DICOM-SEG');
  return map.volume.description && map.volume.description !== 'DICOM-SEG' ? `${file} · ${map.volume.description}` : file;
}

/** Adds SEG label maps to the session as label volumes. */
export function addSegVolumes(volumes: VolumeStore, maps: SegLabelMap[]): VolumeInfo[] {
  return maps.map((m) => volumes.add(m.volume, segVolumeName(m), 'label'));
}

/**
 * SEGs opened without their series (one dropped file, a PACS retrieval of the SEG alone) go on the open
 * image of the series they reference, read again from the files it came from for the source images'
 * positions. The most recently opened copy wins when the series is open twice.
 */
export async function openSegsOnOpenVolumes(scan: DicomScan, volumes: VolumeStore): Promise<VolumeInfo[]> {
  const maps: SegLabelMap[] = [];
  for (const h of scan.segs) {
    const seg = readSeg(h.file);
    if (!seg.referencedSeries.length) {
      throw new InputError(seg.label, 'names no referenced series (ReferencedSeriesSequence); open it together with its series folder');
    }
    const target = volumes
      .list()
      .filter((v) => v.role === 'image' && seg.referencedSeries.includes(v.source.seriesInstanceUid ?? ''))
      .pop();
    if (!target) {
      throw new InputError(
        seg.label,
        `references series ${seg.referencedSeries.join(', ')}, which is not open: open that series first, or the folder that holds both`,
        'seg-reference',
      );
    }
    if (!target.source.path) throw new InputError(target.name, 'the DICOM files it came from are no longer known; open the series again');
    const reference = await scanDicomFolder(target.source.path);
    const series = selectSeries(reference, target.source.seriesInstanceUid);
    maps.push(segToLabelMap(seg, { label: target.source.path, uid: series.uid, headers: series.headers }, volumes.get(target.id)));
  }
  return addSegVolumes(volumes, maps);
}
