import type { PickedFile } from './client';

/** Files from an <input> (a folder picker sets webkitRelativePath), not read yet: the client sends them. */
export function pickedFromFileList(list: FileList | File[]): PickedFile[] {
  return Array.from(list).map((f) => ({ name: f.webkitRelativePath || f.name, file: f }));
}

/** Dropped items, descending into dropped folders (a DICOM series is usually dropped as a folder). */
export async function pickedFromDrop(dt: DataTransfer): Promise<PickedFile[]> {
  const entries = Array.from(dt.items)
    .map((i) => i.webkitGetAsEntry?.())
    .filter((e): e is FileSystemEntry => Boolean(e));
  if (entries.length === 0) return pickedFromFileList(dt.files);
  const files: { path: string; file: File }[] = [];
  for (const e of entries) await collect(e, '', files);
  return files.map(({ path, file }) => ({ name: path, file }));
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
