import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { datatypeName, parseNifti, parseNiftiAsync, realValue, voxelCount, type Affine, type Volume } from '../imaging/index.js';
import { isGzip } from '../imaging/nifti/read.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { sha256, sha256File } from '../util/hash.js';

/** What the database keeps about one stored volume file (the voxels stay in the file). */
export interface VolumeMeta {
  sha256: string;
  /** Path inside the library folder, e.g. volumes/ab/ab12….nii.gz. */
  relPath: string;
  bytes: number;
  dims: number[];
  spacing: number[];
  affine: Affine;
  datatype: string;
}

const SHA_RE = /^[0-9a-f]{64}$/;

export function isSha256(s: unknown): s is string {
  return typeof s === 'string' && SHA_RE.test(s);
}

export { sha256, sha256File } from '../util/hash.js';

/** Two-level layout (first two hex digits as a folder) keeps folders small for big libraries. */
export function volumeRelPath(sha: string, gzipped: boolean): string {
  return `volumes/${sha.slice(0, 2)}/${sha}.nii${gzipped ? '.gz' : ''}`;
}

/**
 * Parses NIfTI bytes (gzipped or not) and returns the metadata row for them plus the parsed volume.
 * The bytes are stored exactly as given, so the hash a user computes on their own file matches.
 * `raw`: the uncompressed encoding of `bytes` where the caller just compressed it itself: the header is read
 * from it instead of inflating `bytes` again (a 256³ volume costs ~0.1–0.3 s to inflate).
 */
export async function describeNifti(bytes: Uint8Array, name: string, raw?: Uint8Array): Promise<{ meta: VolumeMeta; volume: Volume }> {
  const volume = raw ? parseNifti(raw, name) : await parseNiftiAsync(bytes, name);
  const sha = sha256(bytes);
  return {
    volume,
    meta: {
      sha256: sha,
      relPath: volumeRelPath(sha, isGzip(bytes)),
      bytes: bytes.byteLength,
      dims: [...volume.dims],
      spacing: [...volume.spacing],
      affine: volume.affine.map((r) => [...r]),
      datatype: datatypeName(volume.data),
    },
  };
}

/** Distinct real values of a label map, or null past `limit` (then it is not a label map worth listing). */
export function distinctValues(volume: Volume, limit = 4096): number[] | null {
  const seen = new Set<number>();
  const n = voxelCount(volume.dims);
  let last = NaN;
  for (let i = 0; i < n; i++) {
    const v = realValue(volume, i);
    if (v === last) continue; // label maps are mostly long runs of the same value
    last = v;
    if (!seen.has(v)) {
      seen.add(v);
      if (seen.size > limit) return null;
    }
  }
  return [...seen].sort((a, b) => a - b);
}

/** The content-addressed file store under <library>/volumes, plus per-import staging folders. */
export class VolumeFiles {
  constructor(readonly root: string) {}

  abs(relPath: string): string {
    return join(this.root, relPath);
  }

  get stagingRoot(): string {
    return join(this.root, 'staging');
  }

  /**
   * Writes the bytes under their hash unless a file with that name and size is already there.
   * Returns whether a new file was written, so a failed caller can remove only what it added.
   */
  async put(meta: VolumeMeta, bytes: Uint8Array): Promise<boolean> {
    const path = this.abs(meta.relPath);
    const existing = await stat(path).catch(() => null);
    // A file already under this name is reused only if it really has this content (it may be a
    // damaged leftover); rewriting it is atomic, so a reader never sees a partial file.
    if (existing && existing.size === meta.bytes && (await sha256File(path)) === meta.sha256) return false;
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, bytes, { overwrite: true });
    return true;
  }

  /** Moves a verified staged file into place (same file system, so rename is atomic). */
  async adopt(stagedPath: string, relPath: string): Promise<void> {
    const path = this.abs(relPath);
    await mkdir(dirname(path), { recursive: true });
    await rename(stagedPath, path);
  }

  /** A private staging folder named after this process, so a sweep can tell a dead import's leftovers. */
  async newStagingDir(): Promise<string> {
    const dir = join(this.stagingRoot, `${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** Every file under volumes/ as [relPath, sha-from-name]; names that are not ours are returned with sha null. */
  async listFiles(): Promise<Array<{ relPath: string; sha: string | null; changedMs: number }>> {
    const out: Array<{ relPath: string; sha: string | null; changedMs: number }> = [];
    const top = join(this.root, 'volumes');
    const buckets = await readdir(top).catch(() => [] as string[]);
    for (const b of buckets) {
      const names = await readdir(join(top, b)).catch(() => [] as string[]);
      for (const name of names) {
        const relPath = `volumes/${b}/${name}`;
        const st = await lstat(join(top, b, name)).catch(() => null);
        if (!st) continue;
        const m = /^([0-9a-f]{64})\.nii(\.gz)?$/.exec(name);
        // ctime changes on rename, so a file just moved in from staging counts as new.
        out.push({ relPath, sha: m && volumeRelPath(m[1], !!m[2]) === relPath ? m[1] : null, changedMs: Math.max(st.mtimeMs, st.ctimeMs) });
      }
    }
    return out;
  }

  /** Removes staging folders whose process is gone (a killed import); returns how many. */
  async sweepStaging(): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.stagingRoot).catch(() => [] as string[])) {
      const pid = Number(name.split('-')[0]);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) continue;
      if (pid === process.pid) continue;
      await rm(join(this.stagingRoot, name), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
