import type { FileBlob } from '../../../main/api/types';

/** Files from an <input> (a folder picker sets webkitRelativePath) as API blobs. */
export async function blobsFromFileList(list: FileList | File[]): Promise<FileBlob[]> {
  const files = Array.from(list);
  return Promise.all(files.map(async (f) => ({ name: f.webkitRelativePath || f.name, data: new Uint8Array(await f.arrayBuffer()) })));
}

/** Dropped items, descending into dropped folders (a DICOM series is usually dropped as a folder). */
export async function blobsFromDrop(dt: DataTransfer): Promise<FileBlob[]> {
  const entries = Array.from(dt.items)
    .map((i) => i.webkitGetAsEntry?.())
    .filter((e): e is FileSystemEntry => Boolean(e));
  if (entries.length === 0) return blobsFromFileList(dt.files);
  const files: { path: string; file: File }[] = [];
  for (const e of entries) await collect(e, '', files);
  return Promise.all(files.map(async ({ path, file }) => ({ name: path, data: new Uint8Array(await file.arrayBuffer()) })));
}

async function collect(entry: FileSystemEntry, prefix: string, into: { path: string; file: File }[]): Promise<void> {
  const path = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile) {
    const file = await new Promise<File>((ok, fail) => (entry as FileSystemFileEntry).file(ok, fail));
    into.push({ path, file });
    return;
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries returns at most ~100 entries per call: read until it returns none.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
    if (batch.length === 0) break;
    for (const child of batch) await collect(child, path, into);
  }
}
