import { InputError } from '../../common/errors.js';
import { htmlToPdf } from '../../export/pdf.js';
import { readRunSummary, scanReport } from '../../export/scan-report.js';
import { loadNormTables } from '../../export/volumetry/index.js';
import type { IcvEstimate } from '../../export/volumetry/types.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { assertSameGrid } from '../../export/nifti-export.js';
import { readNifti } from '../../imaging/index.js';
import { RegistrationCache, registrationPool } from '../../registration/index.js';
import { starterIcvAtlases } from '../../library/starter.js';
import { defaultDataDir, registrationCacheDir, resourcesDir } from '../../settings/paths.js';
import { flag, flagAll, hasFlag, parseArgs } from '../args.js';
import type { CliCommand } from '../command.js';
import { icvAtlasFlags } from '../icv-flags.js';
import { openVolumeForCli } from '../open-volume.js';
import { scanIcv } from '../../workflow/scan-icv.js';
import { parseSegment } from './export-seg.js';

export const reportCommand: CliCommand = {
  name: 'report',
  summary: 'volumetry (mL, % of intracranial volume, asymmetry, percentiles) and a one-page report of a segmented scan',
  usage: `usage: neuroverse report --target <img|dicom-folder> --mask <m.nii[.gz]> --out <report.html>
                         [--pdf <report.pdf>] [--csv <volumes.csv>] [--run <run.json>]
                         [--label V ... | --segment NAME=VALUE ...] [--series UID]
                         [--icv-atlas <image>,<icv-mask> ... [--icv-align affine|deformable] | --icv ML | --no-icv]
                         [--age YEARS] [--sex M|F] [--norms <tables.json>] [--force] [--json]

  --target PATH      the scan (NIfTI file or DICOM folder) the mask was made on
  --mask FILE        label mask on the target's grid (e.g. from "neuroverse run")
  --out FILE         the report, one HTML page (self-contained, printable)
  --pdf FILE         also print it to PDF with Chromium; where none is found the HTML is kept and a warning says so
  --csv FILE         the volumetry table as CSV (scan, structure, label, side, volume_ml, icv_ml, pct_icv,
                     asymmetry_index, percentile, norm, age, sex)
  --run FILE         the "neuroverse run --json" output of the run that made the mask: method, alignment,
                     context set identity, doubt and QC warnings go into the report
  --label V          report only these mask values (repeat); names from the FreeSurfer aseg table
  --segment N=V      report value V under the name N (repeat; "Left-..."/"Right-..." names give the side)
  --icv-atlas I,M    an atlas head (T1 image I) and its intracranial mask M (repeat): the intracranial volume
                     is the majority vote of the masks registered to the target; default: the bundled starter heads
                     (docs/volumetry.md says how well they agree with FreeSurfer on real heads)
  --icv-align MODE   affine (default) or deformable registration of the ICV atlases
  --icv ML           the intracranial volume when it is known
  --no-icv           no intracranial volume: no % ICV and no percentiles
  --age, --sex       for the norms, instead of the DICOM header's PatientAge/PatientBirthDate and PatientSex
  --norms FILE       normative tables (JSON, docs/volumetry.md) instead of the bundled one (hippocampus in % ICV by
                     age 0–90 and sex, Coupé et al. 2017); percentiles need an ICV, age and sex
  --force            replace existing output files`,
  async run(argv, io) {
    const args = parseArgs(argv, {
      value: ['target', 'mask', 'out', 'pdf', 'csv', 'run', 'label', 'segment', 'series', 'icv-atlas', 'icv-align', 'icv', 'age', 'sex', 'norms'],
      boolean: ['force', 'json', 'no-icv'],
    });
    if (args.positional.length) throw new InputError(undefined, `unexpected argument ${args.positional[0]}`, 'usage');
    const targetPath = flag(args, 'target');
    const maskPath = flag(args, 'mask');
    const out = flag(args, 'out');
    if (!targetPath || !maskPath || !out) throw new InputError(undefined, '--target, --mask and --out are required', 'usage');
    const overwrite = hasFlag(args, 'force');
    const labels = flagAll(args, 'label').map((l) => {
      const v = Number(l);
      if (!Number.isInteger(v) || v <= 0) throw new InputError(undefined, `--label ${l}: expected a positive integer mask value`, 'usage');
      return v;
    });
    const segments = flagAll(args, 'segment').map(parseSegment);
    if (labels.length && segments.length) throw new InputError(undefined, 'give --label or --segment, not both', 'usage');
    const given = icvAtlasFlags(args);
    const icvGiven = flag(args, 'icv');
    const noIcv = hasFlag(args, 'no-icv');
    if ([icvGiven !== undefined, given.length > 0, noIcv].filter(Boolean).length > 1)
      throw new InputError(undefined, 'give one of --icv, --icv-atlas and --no-icv', 'usage');
    const icvSet = icvGiven !== undefined || noIcv ? { atlases: [] } : given.length ? { atlases: given } : starterIcvAtlases(resourcesDir());
    const icvAlign = flag(args, 'icv-align') ?? 'affine';
    if (icvAlign !== 'affine' && icvAlign !== 'deformable') throw new InputError(undefined, `--icv-align ${icvAlign}: expected affine or deformable`, 'usage');
    const ageText = flag(args, 'age');
    const age = ageText === undefined ? undefined : Number(ageText);

    const target = await openVolumeForCli(targetPath, flag(args, 'series'), io);
    const mask = await readNifti(maskPath);
    assertSameGrid(target, mask, 'mask', maskPath);
    const runFile = flag(args, 'run');
    const run = runFile ? await readRunSummary(runFile) : undefined;
    const normsFile = flag(args, 'norms');
    const norms = normsFile ? await loadNormTables(normsFile) : undefined;

    let icv: IcvEstimate | null = null;
    const warnings: string[] = [];
    if (icvGiven !== undefined) {
      const ml = Number(icvGiven);
      if (!(ml > 0)) throw new InputError(undefined, `--icv ${icvGiven}: expected a volume in mL`, 'usage');
      icv = { volumeMl: ml, method: 'given by the user' };
    } else if (icvSet.atlases.length) {
      const pool = registrationPool();
      try {
        const r = await scanIcv(target, icvSet, { pool: () => pool, cache: new RegistrationCache(registrationCacheDir(defaultDataDir())) }, icvAlign);
        icv = r.icv;
        warnings.push(...r.warnings);
      } finally {
        await pool.close();
      }
    }
    const names = segments.length ? Object.fromEntries(segments.map((s) => [s.value, s.label])) : undefined;
    const report = scanReport({
      target,
      targetName: targetPath,
      mask,
      run,
      labels: labels.length ? labels : segments.length ? segments.map((s) => s.value) : undefined,
      names,
      icv,
      given: { age, sex: flag(args, 'sex') },
      norms,
      warnings,
    });
    await writeFileAtomic(out, new TextEncoder().encode(report.html), { overwrite });
    const csvPath = flag(args, 'csv');
    if (csvPath) await writeFileAtomic(csvPath, new TextEncoder().encode(report.csv), { overwrite });
    const pdfPath = flag(args, 'pdf');
    const pdf = pdfPath ? await htmlToPdf(report.html, pdfPath, { overwrite }) : null;
    if (pdf && !pdf.written) io.err(`warning: ${pdfPath}: not written: ${pdf.reason}`);
    if (hasFlag(args, 'json')) {
      io.out(
        JSON.stringify({ out, pdf: pdf?.written ? pdfPath : null, csv: csvPath ?? null, volumetry: report.volumetry, warnings: report.warnings }, null, 2),
      );
      return 0;
    }
    io.out(`${out}: report of ${report.volumetry.rows.length} structures${pdf?.written ? `; ${pdfPath}: PDF` : ''}${csvPath ? `; ${csvPath}: CSV` : ''}`);
    if (icv) io.out(`intracranial volume ${icv.volumeMl.toFixed(0)} mL (${icv.method})`);
    for (const row of report.volumetry.rows)
      io.out(`  ${row.name} (${row.value}): ${row.volumeMl.toFixed(3)} mL${row.pctIcv !== null ? `, ${row.pctIcv.toFixed(3)} % ICV` : ''}`);
    for (const p of report.volumetry.pairs) io.out(`  ${p.structure}: asymmetry ${p.asymmetryIndex === null ? '–' : p.asymmetryIndex.toFixed(1)} %`);
    for (const w of report.warnings) io.err(`warning: ${w}`);
    return 0;
  },
};
