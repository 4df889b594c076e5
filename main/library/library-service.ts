import { resolve, join } from 'node:path';
import { InputError } from '../common/errors.js';
import { readNifti } from '../imaging/index.js';
import type { VolumeStore } from '../session/volume-store.js';
import type { Library } from './library.js';
import { midSliceThumbnail } from './thumbnail.js';
import { ensureStarterSet } from './starter.js';
import type { AddPairFromVolumes, ContextSetInfo, PairInfo, SetThumbnail, TrashedPair } from './types.js';

/** Where the app's library lives for a data folder ($NEUROVERSE_LIBRARY wins, as for the CLI). */
export function libraryDirFor(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.NEUROVERSE_LIBRARY ? resolve(env.NEUROVERSE_LIBRARY) : join(dataDir, 'library');
}

/**
 * The library as the API sees it: opened on first use, methods that take open-volume ids instead of
 * paths, and set thumbnails. The API handlers are one-line calls into this class.
 */
export class LibraryService {
  private opened: Promise<Library> | null = null;
  private readonly thumbs = new Map<string, SetThumbnail>();

  /** `starter`: the bundled starter library's folder, installed into the library on its first open (see starter.ts). */
  constructor(
    readonly dir: string,
    private readonly volumes: VolumeStore,
    private readonly starter?: string,
  ) {}

  library(): Promise<Library> {
    // Imported on first use: better-sqlite3 is a native module, and an app session that never
    // touches the library (or a host whose runtime lacks a matching build) should not pay or fail for it.
    this.opened ??= import('./library.js')
      .then(({ Library }) => Library.open(this.dir))
      .then(async (lib) => {
        if (this.starter) await ensureStarterSet(lib, this.starter);
        return lib;
      })
      .catch((err) => {
        this.opened = null; // a later call may succeed (folder created, disk freed)
        throw err;
      });
    return this.opened;
  }

  async close(): Promise<void> {
    if (this.opened) (await this.opened.catch(() => null))?.close();
    this.opened = null;
  }

  async listContextSets(): Promise<ContextSetInfo[]> {
    return (await this.library()).listSets();
  }

  async addPair(req: AddPairFromVolumes): Promise<PairInfo> {
    const image = this.volumes.get(req.imageVolumeId);
    const label = this.volumes.get(req.labelVolumeId);
    return (await this.library()).addPair({
      set: req.set,
      task: req.task,
      scanner: req.scanner,
      image: { volume: image, name: this.volumes.info(req.imageVolumeId).name },
      label: { volume: label, name: this.volumes.info(req.labelVolumeId).name },
    });
  }

  async removePair(pairId: number): Promise<void> {
    (await this.library()).removePair(id(pairId));
  }

  async restorePair(pairId: number): Promise<void> {
    (await this.library()).restorePair(id(pairId));
  }

  async listTrash(): Promise<TrashedPair[]> {
    return (await this.library()).listTrash();
  }

  async emptyTrash(): Promise<{ pairs: number; volumes: number; bytes: number }> {
    return (await this.library()).emptyTrash();
  }

  async reorderPairs(setName: string, pairIds: number[]): Promise<ContextSetInfo> {
    if (!Array.isArray(pairIds)) throw new InputError(undefined, 'pair ids must be a list', 'usage');
    return (await this.library()).reorderPairs(setName, pairIds.map(id));
  }

  async renameSet(from: string, to: string): Promise<ContextSetInfo> {
    return (await this.library()).renameSet(from, to);
  }

  /** Thumbnail of a set: its first pair (or `pairId`), cached by the pair's two hashes. */
  async thumbnail(setName: string, pairId?: number): Promise<SetThumbnail> {
    const set = (await this.library()).requireSet(setName);
    const pair = pairId === undefined || pairId === null ? set.pairs[0] : set.pairs.find((p) => p.id === id(pairId));
    if (!pair) {
      throw new InputError(
        undefined,
        pairId === undefined ? `context set "${setName}" has no pairs` : `pair ${pairId} is not in set "${setName}"`,
        'not-found',
      );
    }
    const key = `${pair.image.sha256}:${pair.label.sha256}:${set.task.labels.join(',')}`;
    let t = this.thumbs.get(key);
    if (!t) {
      const [image, label] = await Promise.all([readNifti(pair.image.path), readNifti(pair.label.path)]);
      t = { setName, pairId: pair.id, ...midSliceThumbnail(image, label, set.task.kind === 'segment' ? set.task.labels : 'generate') };
      if (this.thumbs.size >= 64) this.thumbs.delete(this.thumbs.keys().next().value!);
      this.thumbs.set(key, t);
    }
    return { ...t, setName, pairId: pair.id };
  }
}

/** Ids arrive from a transport as JSON: anything but a positive integer is the caller's error. */
function id(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new InputError(undefined, `not a pair id: ${JSON.stringify(v)}`, 'usage');
  return v;
}
