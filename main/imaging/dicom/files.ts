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
  const out: DicomFileInput[] = [];
  for (let n = 0; n < paths.length; n++) {
    const p = paths[n];
    const raw = await readFile(p);
    out.push(await inflate({ name: relative(dir, p), path: p, data: raw }));
    onFile?.(n + 1, paths.length);
  }
  return out;
}

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
