import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Inflate, Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import { InputError } from '../common/errors.js';

/**
 * Minimal ZIP support for library bundles, built on fflate.
 *
 * Writing is deterministic (fixed timestamp, caller-fixed order, no extra fields) so the same
 * content always gives the same bytes. Reading uses the central directory only after checking that
 * each local header agrees with it, refuses ZIP64/encrypted/unknown methods, and never inflates more
 * than an entry declares: limits are checked on the declared sizes before any inflation, and the
 * actual output is counted chunk by chunk while inflating.
 */

/** 1980-01-01 00:00 local time: the DOS epoch, so the stored date fields are the same in every time zone. */
const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0);
const CHUNK = 1 << 20;

export interface ZipSource {
  name: string;
  /** Stored as-is (already-compressed .nii.gz) or deflated (JSON, raw .nii). */
  deflate: boolean;
  /** Whole content, or a file to stream. */
  data?: Uint8Array;
  file?: string;
}

/** Writes the entries in the given order to `out` through a temporary file (no partial bundle on failure). */
export async function writeZip(out: string, entries: ZipSource[], options: { overwrite?: boolean } = {}): Promise<number> {
  if (!options.overwrite && (await stat(out).catch(() => null)))
    throw new InputError(out, 'already exists (choose another name or pass --force to replace it)');
  const tmp = join(dirname(out), `.${basename(out)}.${randomBytes(6).toString('hex')}.partial`);
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'wx');
    const handle = fh;
    const pending: Uint8Array[] = [];
    let failure: Error | null = null;
    const zip = new Zip((err, chunk) => {
      if (err) failure = err;
      else pending.push(chunk);
    });
    const flush = async () => {
      if (failure) throw failure;
      while (pending.length) await handle.write(pending.shift()!);
    };
    for (const e of entries) {
      const f = e.deflate ? new ZipDeflate(e.name, { level: 6 }) : new ZipPassThrough(e.name);
      f.mtime = FIXED_MTIME;
      zip.add(f);
      if (e.data) {
        f.push(e.data, true);
      } else {
        const src = await open(e.file!, 'r');
        try {
          const buf = new Uint8Array(CHUNK);
          for (;;) {
            const { bytesRead } = await src.read(buf, 0, CHUNK, null);
            if (bytesRead === 0) break;
            f.push(buf.slice(0, bytesRead), false);
            await flush();
          }
          f.push(new Uint8Array(0), true);
        } finally {
          await src.close();
        }
      }
      await flush();
    }
    zip.end();
    await flush();
    await handle.sync();
    const size = (await handle.stat()).size;
    await handle.close();
    fh = undefined;
    await rename(tmp, out);
    return size;
  } catch (err) {
    await fh?.close().catch(() => {});
    await rm(tmp, { force: true });
    if (err instanceof InputError) throw err;
    throw new InputError(out, `bundle not written: ${(err as Error).message}`);
  }
}

export interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

export interface ZipLimits {
  /** Largest uncompressed entry (declared and actual). */
  maxEntryBytes: number;
  /** Largest sum of declared uncompressed sizes. */
  maxTotalBytes: number;
  /**
   * Largest uncompressed/compressed ratio of one entry. Our exports store volumes uncompressed and
   * deflate only the JSON manifest (a few ×), so anything far above that is a bomb, not a bundle.
   */
  maxRatio: number;
  maxEntries: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntryBytes: 4 * 1024 ** 3 - 1,
  maxTotalBytes: 256 * 1024 ** 3,
  maxRatio: 100,
  maxEntries: 1_000_000,
};

/** An open ZIP file with its validated central directory. */
export class ZipReader {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly entries: ZipEntry[],
  ) {}

  static async open(path: string, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<ZipReader> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      throw new InputError(path, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message);
    }
    try {
      const entries = await readDirectory(fh, path, limits);
      return new ZipReader(path, fh, entries);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  /**
   * Streams one entry's uncompressed bytes to `sink` in chunks, checking the size against its
   * declaration as it goes and the CRC-32 at the end.
   */
  async extract(entry: ZipEntry, sink: (chunk: Uint8Array) => void | Promise<void>): Promise<void> {
    const where = `${this.path}: entry "${entry.name}"`;
    const head = Buffer.alloc(30);
    await this.fh.read(head, 0, 30, entry.localOffset);
    if (head.readUInt32LE(0) !== 0x04034b50) throw new InputError(where, 'local header missing (damaged bundle)', 'bad-bundle');
    const nameLen = head.readUInt16LE(26);
    const extraLen = head.readUInt16LE(28);
    const localName = Buffer.alloc(nameLen);
    await this.fh.read(localName, 0, nameLen, entry.localOffset + 30);
    if (localName.toString('utf8') !== entry.name || head.readUInt16LE(8) !== entry.method) {
      throw new InputError(where, 'local header disagrees with the central directory (damaged or crafted bundle)', 'bad-bundle');
    }
    let pos = entry.localOffset + 30 + nameLen + extraLen;
    let left = entry.compressedSize;
    let produced = 0;
    let crc = 0;
    const queue: Uint8Array[] = [];
    const accept = (chunk: Uint8Array) => {
      produced += chunk.byteLength;
      if (produced > entry.size)
        throw new InputError(where, `inflates to more than its declared ${entry.size} bytes (refused: possible zip bomb)`, 'bad-bundle');
      crc = crc32(chunk, crc);
      queue.push(chunk);
    };
    // Small input chunks bound the memory one push can produce (at most ~1032× the chunk).
    const inChunk = entry.method === 8 ? 16 * 1024 : CHUNK;
    const inflater = entry.method === 8 ? new Inflate((chunk) => accept(chunk)) : null;
    const buf = Buffer.alloc(Math.min(inChunk, Math.max(1, left)));
    try {
      while (left > 0) {
        const n = Math.min(buf.length, left);
        const { bytesRead } = await this.fh.read(buf, 0, n, pos);
        if (bytesRead !== n) throw new InputError(where, 'truncated bundle', 'bad-bundle');
        pos += n;
        left -= n;
        const part = new Uint8Array(buf.subarray(0, n));
        if (inflater) inflater.push(part, left === 0);
        else accept(part);
        while (queue.length) await sink(queue.shift()!);
      }
      if (inflater && entry.compressedSize === 0) inflater.push(new Uint8Array(0), true);
      while (queue.length) await sink(queue.shift()!);
    } catch (err) {
      if (err instanceof InputError) throw err;
      throw new InputError(where, `cannot be decompressed: ${(err as Error).message}`, 'bad-bundle');
    }
    if (produced !== entry.size) throw new InputError(where, `holds ${produced} bytes, not the declared ${entry.size}`, 'bad-bundle');
    if (crc >>> 0 !== entry.crc >>> 0) throw new InputError(where, 'CRC-32 mismatch (damaged bundle)', 'bad-bundle');
  }

  /** Whole entry in memory (for the manifest), refusing anything over `max` bytes. */
  async readAll(entry: ZipEntry, max: number): Promise<Uint8Array> {
    if (entry.size > max) throw new InputError(`${this.path}: entry "${entry.name}"`, `is ${entry.size} bytes, over the ${max}-byte limit`, 'bad-bundle');
    const out = new Uint8Array(entry.size);
    let at = 0;
    await this.extract(entry, (c) => {
      out.set(c, at);
      at += c.byteLength;
    });
    return out;
  }
}

async function readDirectory(fh: FileHandle, path: string, limits: ZipLimits): Promise<ZipEntry[]> {
  const size = (await fh.stat()).size;
  const tailLen = Math.min(size, 22 + 0xffff);
  const tail = Buffer.alloc(tailLen);
  await fh.read(tail, 0, tailLen, size - tailLen);
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new InputError(path, 'not a ZIP bundle (no end-of-central-directory record)', 'bad-bundle');
  const count = tail.readUInt16LE(eocd + 10);
  const cdSize = tail.readUInt32LE(eocd + 12);
  const cdOffset = tail.readUInt32LE(eocd + 16);
  const eocdAbs = size - tailLen + eocd;
  if (tail.readUInt16LE(eocd + 4) !== 0 || tail.readUInt16LE(eocd + 6) !== 0)
    throw new InputError(path, 'multi-part ZIP archives are not supported', 'bad-bundle');
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff)
    throw new InputError(path, 'ZIP64 archives are not supported (entries over 4 GiB)', 'bad-bundle');
  if (cdOffset + cdSize > eocdAbs) throw new InputError(path, 'central directory lies outside the file (truncated or damaged bundle)', 'bad-bundle');
  if (count > limits.maxEntries) throw new InputError(path, `has ${count} entries, over the limit of ${limits.maxEntries}`, 'bad-bundle');
  const cd = Buffer.alloc(cdSize);
  await fh.read(cd, 0, cdSize, cdOffset);
  const entries: ZipEntry[] = [];
  let p = 0;
  let total = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > cdSize || cd.readUInt32LE(p) !== 0x02014b50) throw new InputError(path, 'damaged central directory', 'bad-bundle');
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    const crc = cd.readUInt32LE(p + 16);
    const compressedSize = cd.readUInt32LE(p + 20);
    const usize = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    const localOffset = cd.readUInt32LE(p + 42);
    const name = cd.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    p += 46 + nameLen + extraLen + commentLen;
    const where = `${path}: entry "${name}"`;
    if (flags & 1) throw new InputError(where, 'is encrypted (not supported)', 'bad-bundle');
    if (method !== 0 && method !== 8) throw new InputError(where, `uses compression method ${method} (only stored and deflate are supported)`, 'bad-bundle');
    if (method === 0 && compressedSize !== usize) throw new InputError(where, 'stored entry with different compressed and uncompressed sizes', 'bad-bundle');
    if (usize > limits.maxEntryBytes) throw new InputError(where, `declares ${usize} bytes, over the ${limits.maxEntryBytes}-byte limit per entry`, 'oversize');
    if (compressedSize > 0 && usize / compressedSize > limits.maxRatio) {
      throw new InputError(
        where,
        `declares a compression ratio of ${(usize / compressedSize).toFixed(0)}:1, over the limit of ${limits.maxRatio}:1 (possible zip bomb)`,
        'oversize',
      );
    }
    if (compressedSize === 0 && usize > 0) throw new InputError(where, 'declares content but holds no data', 'bad-bundle');
    if (localOffset + 30 + nameLen + compressedSize > cdOffset)
      throw new InputError(where, 'data lies outside the archive body (damaged or crafted bundle)', 'bad-bundle');
    total += usize;
    if (total > limits.maxTotalBytes) throw new InputError(path, `declares more than ${limits.maxTotalBytes} bytes in all, over the limit`, 'oversize');
    entries.push({ name, method, crc, compressedSize, size: usize, localOffset });
  }
  return entries;
}
