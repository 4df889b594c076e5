import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { InputError } from '../../common/errors.js';
import { contextKey, mergeShardCsvs, runBatch } from '../../workflow/batch.js';
import { findScans } from '../../workflow/batch-scans.js';
import { readDemographicsTable } from '../../workflow/demographics-table.js';
import { starterIcvAtlases } from '../../library/starter.js';
import { resourcesDir } from '../../settings/paths.js';
import { flag, hasFlag, parseArgs } from '../args.js';
import { icvAtlasFlags } from '../icv-flags.js';
import type { CliCommand } from '../command.js';
import { RUN_BOOLEANS, RUN_FLAGS, runFlags } from '../run-flags.js';
import { cliRunServices } from '../run-services.js';

export const batchCommand: CliCommand = {
  name: 'batch',
  summary: 'run every scan under a folder (NIfTI files, DICOM series) and write masks, reports and one volumes.csv',
  usage: `usage: neuroverse batch <folder> --out <dir> [--context-set NAME ... | --context IMG,LABEL ...] [--label V ...]
                        [--match REGEX] [--shard K/N] [--method M] [--align A] [--model DIR] [--device D] [--precision P]
                        [--auto-context N] [--workers N] [--icv-atlas IMG,MASK ... | --no-icv] [--demographics CSV] [--json]
       neuroverse batch --merge <dir>

  <folder>             every NIfTI file and every DICOM series under it (recursively) is a scan
  --out DIR            per scan a folder <DIR>/<scan>/ with mask.nii.gz, doubt.nii.gz, report.html, run.json;
                       <DIR>/volumes.csv with one row per scan and structure (status ok or error, message)
  --match REGEX        only NIfTI files whose path under <folder> matches (e.g. "_T1\\.nii": label maps are no scans)
  --shard K/N          only every N-th scan from the K-th (1-based), for one job of N on a shared folder; writes
                       volumes.shard-K-of-N.csv (docs/batch.md has recipes for GNU parallel and job arrays)
  --merge DIR          merge the shards' CSVs of DIR into DIR/volumes.csv
  --icv-atlas I,M      an atlas head (T1 image I) and its intracranial mask M (repeat) for each scan's intracranial
                       volume (pct_icv, percentiles); default: the bundled starter heads, registered affinely
  --no-icv             no intracranial volume (saves the atlases' registrations: pct_icv and percentile stay empty)
  --demographics CSV   age and sex per scan for the norms (columns scan, age, sex; scan = the scan's id, file or
                       folder name); they win over the DICOM header's
  (other options)      as for neuroverse run; with no --context/--context-set each scan uses the library's set
                       that fits it (its scanner), as the app's Run button does

A scan that fails gets status error and a one-line message; the others go on; the exit code is 1 if any failed.
Resumable: a scan whose outputs are complete for the same inputs and settings is not redone; a kill leaves no
half-written output (each scan's folder is renamed into place when complete).`,
  async run(argv, io) {
    const t0 = performance.now();
    const args = parseArgs(argv, {
      value: [...RUN_FLAGS, 'out', 'match', 'shard', 'merge', 'icv-atlas', 'demographics'],
      boolean: ['json', 'no-icv', ...RUN_BOOLEANS],
    });
    const mergeDir = flag(args, 'merge');
    if (mergeDir !== undefined) {
      const r = await mergeShardCsvs(mergeDir, 'volumes.csv');
      io.out(`merged ${r.files.length} shard CSVs (${r.files.join(', ')}) into ${resolve(mergeDir, 'volumes.csv')}: ${r.rows} rows`);
      return 0;
    }
    const folder = args.positional[0];
    if (!folder || args.positional.length > 1) throw new InputError(undefined, 'give one folder of scans', 'usage');
    const out = flag(args, 'out');
    if (!out) throw new InputError(undefined, '--out is required', 'usage');
    const { settings, library, workers } = runFlags(args);
    const matchFlag = flag(args, 'match');
    let match: RegExp | undefined;
    try {
      match = matchFlag === undefined ? undefined : new RegExp(matchFlag);
    } catch (err) {
      throw new InputError(undefined, `--match is not a regular expression: ${(err as Error).message}`, 'usage');
    }
    const shard = parseShard(flag(args, 'shard'));
    const given = icvAtlasFlags(args);
    if (given.length && hasFlag(args, 'no-icv')) throw new InputError(undefined, 'give --icv-atlas or --no-icv, not both', 'usage');
    const icv = hasFlag(args, 'no-icv') ? { atlases: [] } : given.length ? { atlases: given } : starterIcvAtlases(resourcesDir());
    const demographicsFile = flag(args, 'demographics');
    const demographics = demographicsFile === undefined ? undefined : await readDemographicsTable(demographicsFile);

    const { progress, services } = cliRunServices(io, { library, workers });
    try {
      const all = await findScans(folder, { match, skip: [resolve(out)] });
      const scans = shard ? all.filter((_, i) => i % shard.count === shard.index - 1) : all;
      if (scans.length === 0)
        throw new InputError(folder, `holds no scan${shard ? ` for shard ${shard.index}/${shard.count}` : ''} (NIfTI files or DICOM series)`);
      const csvName = shard ? `volumes.shard-${shard.index}-of-${shard.count}.csv` : 'volumes.csv';
      const key = await contextKey(settings.context, services);
      if (!hasFlag(args, 'json'))
        io.out(`${scans.length} scan${scans.length === 1 ? '' : 's'} under ${folder}${shard ? ` (shard ${shard.index}/${shard.count} of ${all.length})` : ''}`);
      const results = await runBatch(
        scans,
        out,
        csvName,
        settings,
        key,
        services,
        {
          onScanDone: (r, i, total, left) => {
            progress.done();
            const what = r.status === 'error' ? `error: ${r.message}` : r.resumed ? 'done before, kept' : `ok (${r.seconds.toFixed(0)} s)`;
            const eta = left === null || i + 1 === total ? '' : `; about ${formatSeconds(left)} left`;
            if (!hasFlag(args, 'json')) io.out(`[${i + 1}/${total}] ${r.scan.label}: ${what}${eta}`);
            else io.err(`[${i + 1}/${total}] ${r.scan.id}: ${r.status}${eta}`);
          },
        },
        { icv, demographics },
      );
      const failed = results.filter((r) => r.status === 'error');
      const summary = {
        out: resolve(out),
        csv: resolve(out, csvName),
        scans: results.length,
        ok: results.length - failed.length,
        resumed: results.filter((r) => r.resumed).length,
        failed: failed.length,
        seconds: Math.round((performance.now() - t0) / 10) / 100,
        peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      };
      if (hasFlag(args, 'json')) io.out(JSON.stringify(summary));
      else io.out(`${summary.ok} of ${summary.scans} scans ok (${summary.resumed} kept from an earlier run), ${summary.failed} failed; ${summary.csv}`);
      return failed.length ? 1 : 0;
    } finally {
      progress.done();
      await services.close();
    }
  },
};

function parseShard(v: string | undefined): { index: number; count: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(v);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!(index >= 1 && count >= 1 && index <= count)) throw new InputError(undefined, `--shard must be K/N with 1 ≤ K ≤ N (got "${v}")`, 'usage');
  return { index, count };
}

function formatSeconds(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
