import { gunzip, gzip } from 'node:zlib';

/**
 * Output chunks up to 1 MiB: with Node's default 16 KiB the async zlib call re-enters JavaScript per chunk and
 * runs about twice as long as the sync one (inflate of a 256³ T1, see nifti/read.ts). Not more than the output
 * needs, though: each call allocates one chunk, and a folder of small .dcm.gz files inflated into 1 MiB chunks
 * churned enough external memory to set off a full GC on the serving thread every ~60 ms.
 */
const chunkFor = (expected: number) => Math.min(2 ** 20, Math.max(2 ** 16, expected));

/** gzip on libuv's thread pool, so the event loop that serves the UI keeps answering while a volume is compressed. */
export function gzipAsync(data: Uint8Array, level: number): Promise<Uint8Array> {
  return new Promise((ok, fail) => gzip(data, { level, chunkSize: chunkFor(data.byteLength) }, (err, out) => (err ? fail(err) : ok(out))));
}

/** gunzip on libuv's thread pool; errors are zlib's (the caller names the file). */
export function gunzipAsync(data: Uint8Array): Promise<Uint8Array> {
  return new Promise((ok, fail) => gunzip(data, { chunkSize: chunkFor(data.byteLength * 4) }, (err, out) => (err ? fail(err) : ok(out))));
}
