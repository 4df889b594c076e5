import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CancelledError, InputError } from '../common/errors.js';
import { lazyWorkerSeriesDecoder } from '../compute/dicom-decode.js';
import { scanReport, type ScanReport } from '../export/scan-report.js';
import type { VolumetryResult } from '../export/volumetry/types.js';
import { encodeNifti, importSeries, openImagePath, type Volume } from '../imaging/index.js';
import { gzipAsync } from '../util/gzip.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { csvRecords } from '../util/csv.js';
import type { IcvAtlasSet } from '../pipeline/icv.js';
import type { BatchScan } from './batch-scans.js';
import { orchestrateRun, type RunOutcome, type RunRequest, type RunServices } from './orchestrate-run.js';
import { scanIcv, type ScanIcv } from './scan-icv.js';
import { demographicsFor, type GivenDemographics } from './demographics-table.js';

/** The settings every scan of a batch is run with (a RunRequest without its target). */
export type BatchSettings = Omit<RunRequest, 'target' | 'targetName' | 'record'>;

/** One line of volumes.csv: one scan and one structure (or one line for a scan that failed). */
export interface BatchRow {
  scan: string;
  structure: string;
  labels: string;
  volume_ml: number | null;
  /** Lateral structures (by their names, e.g. "Left-Hippocampus"): left or right, and |L−R| / ((L+R)/2) × 100. */
  side: string;
  asymmetry_index: number | null;
  /** Percent of the intracranial volume; empty without an ICV estimate. */
  pct_icv: number | null;
  /** Percentile for age and sex where a published table exists, else why not (export/volumetry/norms.ts). */
  percentile: number | null;
  norm: string;
  doubtful_ml: number | null;
  /** Lesion runs: how many lesions (26-connected components, export/lesion-stats.ts); empty for anatomy. */
  lesion_count: number | null;
  method: string;
  align: string;
  context_set: string;
  status: 'ok' | 'error';
  message: string;
}

export const CSV_COLUMNS: (keyof BatchRow)[] = [
  'scan',
  'structure',
  'labels',
  'volume_ml',
  'side',
  'asymmetry_index',
  'pct_icv',
  'percentile',
  'norm',
  'doubtful_ml',
  'lesion_count',
  'method',
  'align',
  'context_set',
  'status',
  'message',
];

export interface ScanResult {
  scan: BatchScan;
  status: 'ok' | 'error';
  /** Finished in an earlier run with the same inputs and settings: nothing was redone. */
  resumed: boolean;
  rows: BatchRow[];
  seconds: number;
  message: string;
}

/** What the volumetry of each scan needs beyond the run: atlases for the intracranial volume (none: no % ICV). */
export interface BatchVolumetry {
  icv: IcvAtlasSet;
  /** Age and sex per scan given by the user (demographics-table.ts), for the norms. */
  demographics?: ReadonlyMap<string, GivenDemographics>;
}

export interface BatchEvents {
  onScanStart?(scan: BatchScan, index: number, total: number): void;
  onScanDone?(result: ScanResult, index: number, total: number, secondsLeft: number | null): void;
}

/** What marks a scan's folder as complete, written last: the key of its inputs and settings, and its rows. */
interface DoneRecord {
  key: string;
  scan: string;
  files: string[];
  rows: BatchRow[];
  finishedAt: string;
}

const DONE = 'done.json';

/**
 * Runs one orchestrated run per scan, one scan at a time on the same services (the model and registration workers
 * stay open, so a scan costs what a single run costs and memory does not grow with the list). Each scan's outputs
 * are written into a hidden folder and renamed into place when complete, with done.json last: a kill at any moment
 * leaves finished scans whole and no half-written output under a scan's name. A scan whose done.json carries the
 * same key (inputs by size and time, settings, context) is not redone. The CSV is rewritten (atomically) after
 * every scan, so it always lists what has finished.
 */
export async function runBatch(
  scans: BatchScan[],
  out: string,
  csvName: string,
  settings: BatchSettings,
  contextKey: string,
  services: RunServices,
  events: BatchEvents = {},
  volumetry: BatchVolumetry = { icv: { atlases: [] } },
): Promise<ScanResult[]> {
  await mkdir(out, { recursive: true });
  await removeLeftovers(out);
  const decode = lazyWorkerSeriesDecoder();
  // The ICV atlases only where there are some, so that batches without them keep the keys they were written with.
  const icvKey = volumetry.icv.atlases.length
    ? { icv: { atlases: volumetry.icv.atlases, scale: volumetry.icv.scale ?? 1, use: volumetry.icv.use ?? null } }
    : {};
  const demographics = volumetry.demographics ?? new Map<string, GivenDemographics>();
  const settingsKey = JSON.stringify({ ...settings, contextKey, ...icvKey });
  const results: ScanResult[] = [];
  const runSeconds: number[] = [];
  for (let i = 0; i < scans.length; i++) {
    services.signal?.throwIfAborted();
    const scan = scans[i];
    events.onScanStart?.(scan, i, scans.length);
    const t0 = performance.now();
    const given = demographicsFor(demographics, scan);
    const key = createHash('sha256')
      // The volume only where there is one to name: the keys of other scans stay those of earlier batches.
      .update(`${scan.path}\0${scan.seriesUid ?? ''}${scan.volume !== undefined ? `\0${scan.volume}` : ''}\0${scan.fingerprint}\0${settingsKey}`)
      // What the user gave for this scan's norms, only where given (so other batches keep their keys).
      .update(given ? `\0${JSON.stringify(given)}` : '')
      .digest('hex');
    let result: ScanResult;
    const done = await readDone(join(out, scan.id), key);
    if (done) {
      result = { scan, status: 'ok', resumed: true, rows: done.rows, seconds: 0, message: 'finished in an earlier run' };
    } else {
      try {
        const target = await openScan(scan, decode, services.signal);
        const outcome = await orchestrateRun({ ...settings, target, targetName: scan.label }, services);
        // Lesions are counted, not compared with norms: no ICV for them (nor for restored images).
        const anatomy = outcome.task === 'segment' && !outcome.structures.some((s) => s.lesion);
        const icv = anatomy ? await scanIcv(target, volumetry.icv, services, 'affine', registeredImages(outcome)) : null;
        const report = outcome.task === 'segment' ? reportOf(scan, target, outcome, icv, given) : null;
        const rows = rowsOf(scan, outcome, report?.volumetry ?? null, icv?.warnings ?? []);
        await writeScanFolder(out, scan, target, key, outcome, rows, report?.html ?? null, icv);
        result = { scan, status: 'ok', resumed: false, rows, seconds: (performance.now() - t0) / 1000, message: '' };
        runSeconds.push(result.seconds);
      } catch (err) {
        if (err instanceof CancelledError || services.signal?.aborted) throw err;
        // One line naming the file and the problem; the other scans go on.
        const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
        const named = message.includes(scan.path) ? message : `${scan.label}: ${message}`;
        result = { scan, status: 'error', resumed: false, rows: [errorRow(scan, named, settings)], seconds: (performance.now() - t0) / 1000, message: named };
      }
    }
    results.push(result);
    await writeCsv(
      join(out, csvName),
      results.flatMap((r) => r.rows),
    );
    // The time left from the scans actually run in this batch (resumed ones cost nothing).
    const left = scans.length - i - 1;
    const mean = runSeconds.length ? runSeconds.reduce((a, b) => a + b, 0) / runSeconds.length : null;
    events.onScanDone?.(result, i, scans.length, mean === null ? null : mean * left);
  }
  return results;
}

async function openScan(scan: BatchScan, decode: ReturnType<typeof lazyWorkerSeriesDecoder>, signal?: AbortSignal): Promise<Volume> {
  const opened = await openImagePath(scan.path, scan.seriesUid, undefined, signal, decode, scan.volume);
  if (opened.kind === 'volume') return opened.volume;
  if (opened.kind === 'scan') return importSeries(opened.scan, scan.seriesUid, undefined, decode, signal, scan.volume);
  throw new InputError(scan.path, 'holds no image series (only DICOM-SEG files)');
}

/** The images of the context pairs a run registered to its scan: ICV atlases among them cost no registration. */
export function registeredImages(o: RunOutcome): string[] {
  return o.align === 'none' ? [] : o.structures.flatMap((s) => s.pairs.flatMap((p) => (p.imageSha256 ? [p.imageSha256] : [])));
}

/** The scan's CSV rows: one per structure, with its volumetry (sides, asymmetry, % ICV, norm) from the report. */
function rowsOf(scan: BatchScan, o: RunOutcome, v: VolumetryResult | null, scanWarnings: string[]): BatchRow[] {
  const common = { scan: scan.id, method: o.method, align: o.align, context_set: o.contextName, status: 'ok' as const, message: '' };
  const none = { side: '', asymmetry_index: null, pct_icv: null, percentile: null, norm: '' };
  if (o.task !== 'segment' || !v)
    return [{ ...common, ...none, structure: o.sets[0]?.task.name ?? 'restored image', labels: '', volume_ml: null, doubtful_ml: null, lesion_count: null }];
  return o.structures.map((s, k) => {
    return {
      ...common,
      structure: s.name,
      labels: s.labels.join('+'),
      volume_ml: o.labelStats.find((x) => x.label === k + 1)?.ml ?? 0,
      ...volumetryColumns(v, k + 1),
      doubtful_ml: s.doubtfulMl,
      lesion_count: s.lesion?.stats.count ?? null,
      // The scan's own warnings (an uncertain ICV) bear on every row's % ICV and percentile.
      message: [...o.qc.filter((w) => w.structure === s.name).map((w) => w.message), ...scanWarnings].map((m) => `warning: ${m}`).join('; '),
    };
  });
}

/** The volumetry columns of the CSV row of mask value `value` (side, asymmetry, % ICV, percentile or why none). */
export function volumetryColumns(v: VolumetryResult, value: number): Pick<BatchRow, 'side' | 'asymmetry_index' | 'pct_icv' | 'percentile' | 'norm'> {
  const row = v.rows.find((r) => r.value === value);
  const pair = row?.side ? v.pairs.find((p) => p.structure === row.structure) : undefined;
  return {
    side: row?.side ?? '',
    asymmetry_index: pair?.asymmetryIndex ?? null,
    pct_icv: row?.pctIcv ?? null,
    percentile: row?.norm.kind === 'percentile' ? row.norm.percentile : null,
    norm: row ? (row.norm.kind === 'percentile' ? row.norm.source : row.norm.reason) : '',
  };
}

function errorRow(scan: BatchScan, message: string, settings: BatchSettings): BatchRow {
  return {
    scan: scan.id,
    structure: '',
    labels: '',
    volume_ml: null,
    side: '',
    asymmetry_index: null,
    pct_icv: null,
    percentile: null,
    norm: '',
    doubtful_ml: null,
    lesion_count: null,
    method: settings.method ?? '',
    align: settings.align ?? '',
    context_set: '',
    status: 'error',
    message,
  };
}

/** The scan's outputs in a hidden folder first, done.json last, then renamed into place. */
/** The one-page report of a scan (export/scan-report.ts): volumetry, key slices, doubt, QC and provenance. */
function reportOf(scan: BatchScan, target: Volume, o: RunOutcome, icv: ScanIcv | null, given: GivenDemographics | undefined): ScanReport {
  return scanReport({
    given,
    icv: icv?.icv ?? null,
    warnings: icv?.warnings,
    target,
    targetName: scan.label,
    mask: o.result,
    names: Object.fromEntries(o.structures.map((s, k) => [k + 1, s.name])),
    labels: o.structures.map((_, k) => k + 1),
    run: {
      method: o.method,
      align: o.align,
      model: o.model?.dir ?? null,
      contextSize: o.structures[0].contextSize,
      uncertainMl: o.structures.reduce((n, s) => n + (s.doubtfulMl ?? 0), 0) || null,
      qc: o.qc.map((w) => ({ kind: w.kind, message: w.message })),
      provenance: o.provenance,
      lesion: o.structures.some((s) => s.lesion),
    },
  });
}

async function writeScanFolder(
  out: string,
  scan: BatchScan,
  target: Volume,
  key: string,
  o: RunOutcome,
  rows: BatchRow[],
  reportHtml: string | null,
  icv: ScanIcv | null,
): Promise<void> {
  const tmp = join(out, `.${scan.id}.partial-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  try {
    const files: string[] = [];
    const put = async (name: string, bytes: Uint8Array) => {
      await writeFile(join(tmp, name), bytes);
      files.push(name);
    };
    const segment = o.task === 'segment';
    await put(segment ? 'mask.nii.gz' : 'restored.nii.gz', await gzipAsync(encodeNifti(o.result, segment ? { intent: 'label' } : {}), 6));
    if (o.doubt) await put('doubt.nii.gz', await gzipAsync(encodeNifti(o.doubt), 6));
    if (reportHtml !== null) await put('report.html', new TextEncoder().encode(reportHtml));
    const run = {
      scan: scan.label,
      // What the files were read as: for a series that makes several volumes, which one ("[volume 2 of 2: …]").
      image: target.description,
      method: o.method,
      align: o.align,
      contextSet: o.contextName,
      provenance: o.provenance,
      seconds: o.seconds,
      qc: o.qc.map((w) => w.message),
      ...(icv?.icv ? { icv: { ...icv.icv, seconds: icv.seconds } } : {}),
    };
    await put('run.json', new TextEncoder().encode(JSON.stringify(run, null, 2)));
    const done: DoneRecord = { key, scan: scan.label, files: [...files], rows, finishedAt: new Date().toISOString() };
    await writeFile(join(tmp, DONE), JSON.stringify(done, null, 2));
    const final = join(out, scan.id);
    const old = join(out, `.${scan.id}.old-${randomBytes(4).toString('hex')}`);
    const had = await rename(final, old).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false;
        throw err;
      },
    );
    await rename(tmp, final);
    if (had) await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw new InputError(out, 'not written: the disk is full (finished scans are kept)');
    throw err;
  }
}

/** The scan's done record when its folder is complete for `key`; null otherwise (never run, other inputs or settings). */
async function readDone(dir: string, key: string): Promise<DoneRecord | null> {
  try {
    const done = JSON.parse(await readFile(join(dir, DONE), 'utf8')) as DoneRecord;
    if (done.key !== key) return null;
    for (const f of done.files) await stat(join(dir, f));
    return done;
  } catch {
    return null;
  }
}

/**
 * What a kill interrupted: hidden scan folders (never complete, so never read) and a CSV's temporary file
 * (util/atomic-write.ts names it `.<name>.<hex>.partial`); removed at the next start.
 */
async function removeLeftovers(out: string): Promise<void> {
  for (const e of await readdir(out, { withFileTypes: true })) {
    const scanFolder = e.isDirectory() && /^\..+\.(partial|old)-[0-9a-f]{8}$/.test(e.name);
    const csvPart = e.isFile() && /^\.volumes[^/]*\.csv\.[0-9a-f]+\.partial$/.test(e.name);
    if (scanFolder || csvPart) await rm(join(out, e.name), { recursive: true, force: true });
  }
}

/** RFC 4180 CSV of the rows, written through a temporary file (a kill leaves the previous complete CSV). */
export async function writeCsv(path: string, rows: BatchRow[]): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(csvText(rows)), { overwrite: true });
}

export function csvText(rows: BatchRow[]): string {
  const q = (v: unknown) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [CSV_COLUMNS.join(','), ...rows.map((r) => CSV_COLUMNS.map((c) => q(r[c])).join(','))].join('\r\n') + '\r\n';
}

/**
 * Merges the CSVs of shards (`volumes.shard-K-of-N.csv`, each written by `neuroverse batch --shard K/N` on its own
 * machine over the same output folder) into one CSV, rows sorted by scan. Returns the number of rows.
 */
export async function mergeShardCsvs(out: string, target: string): Promise<{ files: string[]; rows: number }> {
  const files = (await readdir(out)).filter((f) => /^volumes\.shard-\d+-of-\d+\.csv$/.test(f)).sort();
  if (files.length === 0) throw new InputError(out, 'holds no volumes.shard-K-of-N.csv to merge (run neuroverse batch --shard K/N first)');
  const header = CSV_COLUMNS.join(',');
  const lines: string[] = [];
  for (const f of files) {
    const text = await readFile(join(out, f), 'utf8');
    const [first, ...rest] = csvRecords(text);
    if (first !== header) throw new InputError(join(out, f), `is not a batch CSV of this version (header "${(first ?? '').slice(0, 60)}")`);
    lines.push(...rest);
  }
  // Sorting by the first field keeps each scan's rows together (a scan id has no comma or quote: safeId).
  lines.sort((a, b) => a.split(',', 1)[0].localeCompare(b.split(',', 1)[0]));
  await writeFileAtomic(join(out, target), new TextEncoder().encode([header, ...lines].join('\r\n') + '\r\n'), { overwrite: true });
  return { files, rows: lines.length };
}

/**
 * What the resume check knows of the context: the stored pairs' content hashes of the sets it may use (all sets
 * with pairs when the set is chosen per scan), or the given files' sizes and times. A changed set reruns its scans.
 */
export async function contextKey(context: RunRequest['context'], services: RunServices): Promise<string> {
  if (context.kind === 'files') {
    const parts = await Promise.all(
      context.pairs.map(async (p) => {
        const [a, b] = await Promise.all([stat(p.imageFile), stat(p.labelFile)]);
        return `${p.imageFile}:${a.size}:${a.mtimeMs}|${p.labelFile}:${b.size}:${b.mtimeMs}`;
      }),
    );
    return createHash('sha256').update(parts.join('\n')).digest('hex');
  }
  const library = await services.library();
  const sets = context.kind === 'sets' ? context.names.map((n) => library.requireSet(n)) : library.listSets().filter((s) => s.pairs.length > 0);
  const parts = sets.map((s) => `${s.name}:${s.task.name}:${s.pairs.map((p) => `${p.image.sha256}/${p.label.sha256}`).join(',')}`).sort();
  return createHash('sha256').update(parts.join('\n')).digest('hex');
}
