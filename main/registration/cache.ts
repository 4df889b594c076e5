import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RegisterResult } from './registration-jobs.js';

export interface CacheEntry {
  dir: string;
  imageFile: string;
  labelFile: string;
  result: RegisterResult;
}

/** Default bound: about 150 aligned 256³ pairs of uint8 images with int16 labels. */
export const DEFAULT_CACHE_BYTES = 2 * 1024 ** 3;

/**
 * Aligned pairs on disk, one folder per key (target, image, label, settings), so a rerun or a second
 * structure on the same target registers nothing. A folder is complete when it has its meta.json: it is
 * filled under a temporary name and renamed into place. The least recently used folders go first when the
 * cache outgrows its bound.
 */
export class RegistrationCache {
  constructor(
    readonly root: string,
    readonly maxBytes = DEFAULT_CACHE_BYTES,
  ) {}

  async get(key: string): Promise<CacheEntry | null> {
    const dir = join(this.root, key);
    const meta = join(dir, 'meta.json');
    try {
      const result = JSON.parse(await readFile(meta, 'utf8')) as RegisterResult;
      const now = new Date();
      await utimes(meta, now, now);
      return { dir, imageFile: join(dir, 'image.nii.gz'), labelFile: join(dir, 'label.nii.gz'), result };
    } catch {
      return null;
    }
  }

  /** A fresh folder for a worker to write into; pass it to commit() or discard(). */
  async reserve(): Promise<string> {
    await mkdir(this.root, { recursive: true });
    const dir = join(this.root, `.partial-${randomBytes(6).toString('hex')}`);
    await mkdir(dir);
    return dir;
  }

  async commit(partial: string, key: string, result: RegisterResult): Promise<CacheEntry> {
    await writeFile(join(partial, 'meta.json'), JSON.stringify(result));
    const dir = join(this.root, key);
    try {
      await rename(partial, dir);
    } catch {
      // Another run stored the same key meanwhile: keep theirs.
      await this.discard(partial);
    }
    await this.evict(key);
    return (await this.get(key)) ?? { dir, imageFile: join(dir, 'image.nii.gz'), labelFile: join(dir, 'label.nii.gz'), result };
  }

  /** Adds the resampled image a later job wrote into `partial` to the entry `key` (atomic renames). */
  async addImage(key: string, partial: string, result: RegisterResult): Promise<CacheEntry | null> {
    const dir = join(this.root, key);
    try {
      await rename(join(partial, 'image.nii.gz'), join(dir, 'image.nii.gz'));
      await writeFile(join(partial, 'meta.json'), JSON.stringify(result));
      await rename(join(partial, 'meta.json'), join(dir, 'meta.json'));
    } finally {
      await this.discard(partial);
    }
    return this.get(key);
  }

  async discard(partial: string): Promise<void> {
    await rm(partial, { recursive: true, force: true });
  }

  /** Removes least recently used entries (never `keep`) until the cache fits its bound; drops stale partials. */
  async evict(keep?: string): Promise<void> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    const entries: { name: string; bytes: number; used: number }[] = [];
    for (const name of names) {
      const dir = join(this.root, name);
      if (name.startsWith('.partial-')) {
        const s = await stat(dir).catch(() => null);
        if (s && Date.now() - s.mtimeMs > 6 * 3600_000) await rm(dir, { recursive: true, force: true });
        continue;
      }
      const files = await readdir(dir).catch(() => [] as string[]);
      let bytes = 0;
      let used = 0;
      for (const f of files) {
        const s = await stat(join(dir, f)).catch(() => null);
        if (!s) continue;
        bytes += s.size;
        if (f === 'meta.json') used = s.mtimeMs;
      }
      entries.push({ name, bytes, used });
    }
    let total = entries.reduce((a, e) => a + e.bytes, 0);
    entries.sort((a, b) => a.used - b.used);
    for (const e of entries) {
      if (total <= this.maxBytes) break;
      if (e.name === keep) continue;
      await rm(join(this.root, e.name), { recursive: true, force: true });
      total -= e.bytes;
    }
  }
}
