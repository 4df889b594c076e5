import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RecentFile } from './recent-file.js';
import { writeFileAtomic } from '../util/atomic-write.js';

const MAX_RECENT = 20;

/** The recent-files list, a small JSON file in the data folder, newest first. */
export class RecentFiles {
  constructor(private readonly file: string) {}

  async list(): Promise<RecentFile[]> {
    try {
      const parsed = JSON.parse(await readFile(this.file, 'utf8'));
      return Array.isArray(parsed) ? (parsed as RecentFile[]) : [];
    } catch {
      // A missing or damaged list is not worth failing an open for; it is rebuilt on the next save.
      return [];
    }
  }

  async get(id: string): Promise<RecentFile | undefined> {
    return (await this.list()).find((r) => r.id === id);
  }

  async add(entry: Omit<RecentFile, 'id' | 'openedAt'>): Promise<RecentFile> {
    const id = createHash('sha256')
      // The volume only when there is one to name: entries of other series keep the ids they had.
      .update(`${entry.path}\0${entry.seriesInstanceUid ?? ''}${entry.volume !== undefined ? `\0${entry.volume}` : ''}`)
      .digest('hex')
      .slice(0, 16);
    const item: RecentFile = { ...entry, id, openedAt: new Date().toISOString() };
    const rest = (await this.list()).filter((r) => r.id !== id);
    const next = [item, ...rest].slice(0, MAX_RECENT);
    await mkdir(dirname(this.file), { recursive: true });
    await writeFileAtomic(this.file, new TextEncoder().encode(JSON.stringify(next, null, 2)), { overwrite: true });
    return item;
  }
}
