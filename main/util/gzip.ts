import { gunzip, gzip } from 'node:zlib';

/**
 * 1 MiB output chunks: with Node's default 16 KiB the async zlib call re-enters JavaScript per chunk and runs
 * about twice as long as the sync one (measured for inflate on a 256³ T1, see nifti/read.ts).
 */
const CHUNK = 2 ** 20;

/** gzip on libuv's thread pool, so the event loop that serves the UI keeps answering while a volume is compressed. */
export function gzipAsync(data: Uint8Array, level: number): Promise<Uint8Array> {
  return new Promise((ok, fail) => gzip(data, { level, chunkSize: CHUNK }, (err, out) => (err ? fail(err) : ok(out))));
}

/** gunzip on libuv's thread pool; errors are zlib's (the caller names the file). */
export function gunzipAsync(data: Uint8Array): Promise<Uint8Array> {
  return new Promise((ok, fail) => gunzip(data, { chunkSize: CHUNK }, (err, out) => (err ? fail(err) : ok(out))));
}
