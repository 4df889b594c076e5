import { CancelledError, InputError } from '../common/errors.js';
import type { DicomSeries, SeriesDecoder } from '../imaging/index.js';
import type { DecodeJob, DicomJobs } from './dicom-job.js';
import { ComputePool } from './pool.js';
import { workerScript } from './worker-script.js';

/** Bytes packed between yields to the event loop: a few ms of copying (15 ms for 19 MB measured on a busy 2-core VM). */
const PACK_SLICE = 16 * 2 ** 20;

/**
 * A pool of DICOM decoding workers. One by default: a decode is short (a few hundred ms) and memory-bound,
 * and a second open queues behind the first instead of competing for the same two cores.
 */
export function dicomDecodePool(size = 1, script: URL = workerScript(import.meta.url, 'dicom-worker')): ComputePool<DicomJobs> {
  return new ComputePool<DicomJobs>(script, size);
}

/**
 * A SeriesDecoder that runs in `pool()` (created on first use). The headers the scan parsed travel as plain
 * data (the worker does not parse again); the scan keeps its own file bytes (SEGs beside the series and a later
 * choice of another series read them), so they are copied once into the job's buffer; the voxels come back by
 * transfer. Errors are the in-thread decoder's (InputError naming the file or folder);
 * a worker that dies fails this decode only, named by the folder, and the pool starts a new worker for the next.
 */
export function workerSeriesDecoder(pool: () => ComputePool<DicomJobs>): SeriesDecoder {
  return async (series, label, signal, pick) => {
    const job = { ...(await pack(series, label, signal)), ...(pick !== undefined ? { pick } : {}) };
    try {
      return await pool().run('dicom-decode', job, { signal, transfer: [job.bytes] });
    } catch (err) {
      if (err instanceof InputError || err instanceof CancelledError) throw err;
      throw new Error(`${label}: decoding series ${series.uid} failed (${(err as Error).message})`, { cause: err });
    }
  };
}

/** workerSeriesDecoder on a pool of its own, started when the first series is decoded. */
export function lazyWorkerSeriesDecoder(): SeriesDecoder {
  let pool: ComputePool<DicomJobs> | undefined;
  return workerSeriesDecoder(() => (pool ??= dicomDecodePool()));
}

async function pack(series: DicomSeries, label: string, signal?: AbortSignal): Promise<DecodeJob> {
  const total = series.headers.reduce((n, h) => n + h.file.data.byteLength, 0);
  const bytes = new ArrayBuffer(total);
  const into = new Uint8Array(bytes);
  const headers: DecodeJob['headers'] = [];
  let offset = 0;
  let sinceYield = 0;
  for (const h of series.headers) {
    // The parsed data set stays here (it holds the file's bytes and is not plain data); the fields decoding reads do not.
    const { dataSet: _, file, ...fields } = h;
    into.set(file.data, offset);
    headers.push({ ...fields, file: { name: file.name, path: file.path, gunzipped: file.gunzipped, offset, length: file.data.byteLength } });
    offset += file.data.byteLength;
    sinceYield += file.data.byteLength;
    if (sinceYield >= PACK_SLICE) {
      sinceYield = 0;
      await new Promise((r) => setImmediate(r));
      if (signal?.aborted) throw new CancelledError('import');
    }
  }
  return { label, reader: series.summary.reader, bytes, headers };
}
