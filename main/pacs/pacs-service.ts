import { join } from 'node:path';
import { InputError } from '../common/errors.js';
import type { ExportService } from '../export/export-service.js';
import type { SegmentSpec } from '../export/seg/index.js';
import { isDicomUid } from '../imaging/dicom/uid.js';
import { scanDicomFolder } from '../imaging/index.js';
import type { VolumeStore } from '../session/volume-store.js';
import { echo, find, get, store, type FindMatch, type FindQuery, type Peer, type StoreInput, type StoreResult } from './dimse.js';
import { PacsNodes, type DicomNode, type PacsConfig } from './nodes.js';

/** PACS operations for the API: nodes by name, sending open volumes' source series (and a SEG), retrieving into the data folder. */
export class PacsService {
  readonly nodes: PacsNodes;

  constructor(
    private readonly dataDir: string,
    private readonly volumes: VolumeStore,
    private readonly exports: ExportService,
  ) {
    this.nodes = new PacsNodes(dataDir);
  }

  private async peer(name: string): Promise<Peer> {
    const config = await this.nodes.load();
    return { node: await this.nodes.get(name), localAeTitle: config.localAeTitle };
  }

  config(): Promise<PacsConfig> {
    return this.nodes.load();
  }

  saveNode(node: DicomNode, options: { confirmRemote?: boolean } = {}): Promise<PacsConfig> {
    return this.nodes.put(node, options);
  }

  removeNode(name: string): Promise<PacsConfig> {
    return this.nodes.remove(name);
  }

  async setLocalAeTitle(aeTitle: string): Promise<PacsConfig> {
    const c = await this.nodes.load();
    c.localAeTitle = aeTitle;
    await this.nodes.save(c);
    return this.nodes.load();
  }

  async echo(name: string): Promise<void> {
    await echo(await this.peer(name));
  }

  async find(name: string, query: FindQuery): Promise<FindMatch[]> {
    return find(await this.peer(name), query);
  }

  /** C-STORE of the series an open volume came from, and of the SEG of `maskId` on it when given. */
  async send(name: string, volumeId: string, seg?: { maskId: string; segments?: SegmentSpec[] }): Promise<StoreResult> {
    const v = this.volumes.get(volumeId);
    if (v.source.kind !== 'dicom' || !v.source.path)
      throw new InputError(this.volumes.info(volumeId).name, 'only a volume opened from DICOM can be sent to a PACS (its source series is what is sent)');
    const scan = await scanDicomFolder(v.source.path);
    const series = scan.series.find((s) => s.uid === v.source.seriesInstanceUid) ?? (scan.series.length === 1 ? scan.series[0] : undefined);
    if (!series) throw new InputError(v.source.path, `no longer holds series ${v.source.seriesInstanceUid}`);
    const inputs: StoreInput[] = series.headers.map((h) => h.file.path ?? h.file.name);
    if (seg) inputs.push({ name: 'segmentation.dcm', data: (await this.exports.seg(volumeId, seg.maskId, seg.segments)).bytes });
    return store(await this.peer(name), inputs);
  }

  /** C-GET of a study (or series) into the data folder; returns the folder to open. */
  async retrieve(name: string, studyInstanceUid: string, seriesInstanceUid?: string): Promise<string> {
    if (!isDicomUid(studyInstanceUid) || (seriesInstanceUid !== undefined && !isDicomUid(seriesInstanceUid))) {
      throw new InputError(
        undefined,
        `study and series must be DICOM UIDs (digit groups joined by single dots, at most 64 characters; got ${JSON.stringify(seriesInstanceUid !== undefined && !isDicomUid(seriesInstanceUid) ? seriesInstanceUid : studyInstanceUid).slice(0, 80)})`,
        'usage',
      );
    }
    const dir = join(this.dataDir, 'pacs', studyInstanceUid, seriesInstanceUid ?? 'study');
    await get(await this.peer(name), { studyInstanceUid, seriesInstanceUid }, dir);
    return dir;
  }
}
