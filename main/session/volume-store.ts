import { randomUUID } from 'node:crypto';
import { InputError } from '../common/errors.js';
import type { VolumeInfo, VolumeRole } from './opened-volume.js';
import { datatypeName, valueRange, type Volume } from '../imaging/volume.js';

/**
 * The volumes open in this session, by id: the one type every service that reads or adds open volumes
 * takes (library, workflow, export, PACS, the pair check). The viewer fetches their voxels as NIfTI on demand.
 */
export class VolumeStore {
  private readonly items = new Map<string, { volume: Volume; info: VolumeInfo }>();

  add(volume: Volume, name: string, role: VolumeRole): VolumeInfo {
    const id = randomUUID();
    const info: VolumeInfo = {
      id,
      name,
      role,
      dims: volume.dims,
      spacing: volume.spacing,
      affine: volume.affine,
      datatype: datatypeName(volume.data),
      range: valueRange(volume),
      description: volume.description,
      source: { ...volume.source, instances: undefined },
      ...(volume.labels ? { labels: volume.labels } : {}),
    };
    this.items.set(id, { volume, info });
    return info;
  }

  get(id: string): Volume {
    const item = this.items.get(id);
    if (!item) throw new InputError(undefined, `no open volume with id ${id}`, 'not-found');
    return item.volume;
  }

  info(id: string): VolumeInfo {
    this.get(id);
    return this.items.get(id)!.info;
  }

  list(): VolumeInfo[] {
    return [...this.items.values()].map((i) => i.info);
  }

  remove(id: string): void {
    this.items.delete(id);
  }
}
