import { performance } from 'node:perf_hooks';
import { CancelledError, InputError } from '../common/errors.js';
import type { ProgressFn } from '../jobs/jobs.js';
import type { VolumeStore } from '../session/volume-store.js';
import type { VolumetryResult } from '../export/volumetry/types.js';
import { csvText, volumetryColumns, type BatchRow } from './batch.js';
import type { RunTaskRequest, RunTaskResult, StructureRequest, WorklistRequest, WorklistResult, WorklistRow } from './types.js';

/** What a worklist needs of the app: the open scans, the app's run queue, and what each result was run on. */
export interface WorklistServices {
  volumes: VolumeStore;
  runTask(req: RunTaskRequest, progress: ProgressFn, signal: AbortSignal): Promise<RunTaskResult>;
  /** The structures (with the set's label values) a result of runTask was run on; none for a volume it did not make. */
  structuresOf(resultVolumeId: string): StructureRequest[];
  /** A result's volumetry on its scan (workflow/result-report.ts): sides, asymmetry, % ICV, percentiles. */
  volumetryOf(targetVolumeId: string, resultVolumeId: string): Promise<{ volumetry: VolumetryResult; warnings: string[] }>;
}

/**
 * The open scans one after the other with the same settings (the CLI's batch for what the app has open): each
 * scan is one run of the queue, a scan that fails is a row with its reason and the others go on, and the rows
 * come back with the CSV the batch would write. Cancelling stops the worklist at the scan it is on.
 */
export async function runWorklist(req: WorklistRequest, progress: ProgressFn, signal: AbortSignal, services: WorklistServices): Promise<WorklistResult> {
  if (!Array.isArray(req?.targetVolumeIds) || req.targetVolumeIds.length === 0)
    throw new InputError(undefined, 'choose at least one open scan for the worklist', 'usage');
  const { targetVolumeIds, jobId: _jobId, icv: _icv, ...settings } = req;
  const rows: WorklistRow[] = [];
  const seconds: number[] = [];
  for (let i = 0; i < targetVolumeIds.length; i++) {
    const id = targetVolumeIds[i];
    // A scan closed while it waited is that scan's failure, not the worklist's.
    const scan = services.volumes.list().find((v) => v.id === id)?.name ?? `volume ${id}`;
    const t0 = performance.now();
    const left = seconds.length ? (seconds.reduce((a, b) => a + b, 0) / seconds.length) * (targetVolumeIds.length - i) : null;
    const prefix = `scan ${i + 1} of ${targetVolumeIds.length} (${scan})`;
    const eta = left === null ? '' : `; about ${Math.max(1, Math.round(left / 60))} min left`;
    progress('worklist', i / targetVolumeIds.length, `${prefix}${eta}`);
    try {
      const result = await services.runTask(
        { ...settings, targetVolumeId: id },
        (stage, fraction, message) => {
          progress(stage, (i + (fraction ?? 0)) / targetVolumeIds.length, `${prefix}: ${message}${eta}`);
        },
        signal,
      );
      // Segmentations get the batch's volumetry; its ICV is a few registrations more, shown as their own step.
      let volumetry: WorklistRow['volumetry'] = null;
      if (result.task === 'segment') {
        progress('worklist', (i + 0.99) / targetVolumeIds.length, `${prefix}: volumetry (intracranial volume)${eta}`);
        volumetry = await services.volumetryOf(id, result.volumeId);
      }
      const warnings = [...result.qc.map((w) => w.message), ...(volumetry?.warnings ?? [])];
      rows.push({ targetVolumeId: id, scan, status: 'ok', message: warnings.map((w) => `warning: ${w}`).join('; '), result, volumetry });
      seconds.push((performance.now() - t0) / 1000);
    } catch (err) {
      if (err instanceof CancelledError || signal.aborted) throw err;
      const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
      rows.push({
        targetVolumeId: id,
        scan,
        status: 'error',
        message: message.includes(scan) ? message : `${scan}: ${message}`,
        result: null,
        volumetry: null,
      });
    }
  }
  // The CSV names each structure's label values in the set, as the batch's does (the result holds them as 1..n).
  const labelsOf = (row: WorklistRow) => (row.result ? services.structuresOf(row.result.volumeId) : []);
  return { rows, csv: csvText(rows.flatMap((row) => worklistCsvRows(row, labelsOf(row)))) };
}

/** A worklist row as the batch's CSV lines: one per structure of an ok run, one for a scan that failed. */
function worklistCsvRows(row: WorklistRow, structures: StructureRequest[]): BatchRow[] {
  const r = row.result;
  const none = { side: '', asymmetry_index: null, pct_icv: null, percentile: null, norm: '' };
  if (!r)
    return [
      {
        scan: row.scan,
        structure: '',
        labels: '',
        volume_ml: null,
        ...none,
        doubtful_ml: null,
        lesion_count: null,
        method: '',
        align: '',
        context_set: '',
        status: 'error',
        message: row.message,
      },
    ];
  const common = { scan: row.scan, method: r.method, align: r.align, context_set: r.contextSet, status: 'ok' as const };
  if (r.task !== 'segment')
    return [{ ...common, ...none, structure: 'restored image', labels: '', volume_ml: null, doubtful_ml: null, lesion_count: null, message: row.message }];
  const v = row.volumetry?.volumetry;
  const scanWarnings = row.volumetry?.warnings ?? [];
  return r.structures.map((s) => ({
    ...common,
    structure: s.name,
    labels: (structures[s.label - 1]?.labels ?? []).join('+'),
    volume_ml: s.ml,
    ...(v ? volumetryColumns(v, s.label) : none),
    doubtful_ml: r.uncertainty?.structures.find((d) => d.name === s.name)?.doubtfulMl ?? null,
    // A lesion run has one structure: the lesions' count is the run's.
    lesion_count: r.lesion?.count ?? null,
    message: [...r.qc.filter((w) => w.structure === s.name).map((w) => w.message), ...scanWarnings].map((m) => `warning: ${m}`).join('; '),
  }));
}
