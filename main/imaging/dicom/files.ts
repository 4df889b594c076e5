import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { InputError } from '../../common/errors.js';
import { fileProblem } from '../../common/errors.js';
import { isGzip } from '../nifti/read.js';
import { gunzipAsync } from '../../util/gzip.js';

/** A candidate DICOM file, from disk or from the browser host's upload. */
export interface DicomFileInput {
  /** Path relative to the folder (or the uploaded name), used in messages. */
  name: string;
  /** Absolute path when it came from disk. */
  path?: string;
  data: Uint8Array;
  /** True when the bytes on disk were gzip-compressed (.dcm.gz) and were inflated here. */
  gunzipped: boolean;
}

const MAX_FILES = 20000;

/** Reads every regular file under `dir` (recursively), inflating gzip-compressed ones. */
export async function readFolderFiles(dir: string, onFile?: (done: number, total: number) => void): Promise<DicomFileInput[]> {
  let info;
  try {
    info = await stat(dir);
  } catch (err) {
    throw new InputError(dir, fileProblem(err));
  }
  if (!info.isDirectory()) throw new InputError(dir, 'is not a folder');
  const paths: string[] = [];
  await walk(dir, paths);
  if (paths.length === 0) throw new InputError(dir, 'the folder is empty');
  if (paths.length > MAX_FILES) throw new InputError(dir, `holds ${paths.length} files; at most ${MAX_FILES} can be scanned at once`);
  const out: DicomFileInput[] = new Array(paths.length);
  let next = 0;
  let done = 0;
  // Several files in flight: each read and each inflate of a .dcm.gz is a trip to libuv's pool, and one at a
  // time leaves its threads idle between them (a folder of small files spent most of its time waiting).
  const reader = async () => {
    for (let n = next++; n < paths.length; n = next++) {
      const p = paths[n];
      out[n] = await inflate({ name: relative(dir, p), path: p, data: await readFile(p) });
      onFile?.(++done, paths.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READS_IN_FLIGHT, paths.length) }, reader));
  return out;
}

/** Files read (and inflated) at once: libuv's pool has 4 threads by default, and a few more keep them busy. */
const READS_IN_FLIGHT = 8;

/** One file from disk (inflated when gzip-compressed), named in messages by its path. */
export async function readDicomFile(path: string): Promise<DicomFileInput> {
  let raw;
  try {
    raw = await readFile(path);
  } catch (err) {
    throw new InputError(path, fileProblem(err));
  }
  return inflate({ name: basename(path), path, data: raw });
}

/** A `.dcm.gz` is inflated on libuv's pool: a folder of them would otherwise hold the serving thread per file. */
export async function inflate(f: { name: string; path?: string; data: Uint8Array }): Promise<DicomFileInput> {
  if (!isGzip(f.data)) return { ...f, gunzipped: false };
  try {
    return { ...f, data: await gunzipAsync(f.data), gunzipped: true };
  } catch (err) {
    throw new InputError(f.path ?? f.name, `gzip data is corrupt or truncated (${(err as Error).message})`);
  }
}

async function walk(dir: string, into: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, into);
    else if (e.isFile()) into.push(p);
  }
}
