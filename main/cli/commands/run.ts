import { performance } from 'node:perf_hooks';
import { InputError } from '../../common/errors.js';
import { isNiftiName, writeNifti } from '../../imaging/index.js';
import { flag, hasFlag, parseArgs } from '../args.js';
import type { CliCommand, CliIo } from '../command.js';
import { openVolumeForCli } from '../open-volume.js';
import { RUN_BOOLEANS, RUN_FLAGS, runFlags } from '../run-flags.js';
import { cliRunServices } from '../run-services.js';
import { lesionStatsCsv } from '../../export/lesion-stats.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { DEFAULTS, FUSION_NAMES, isFusion, isLesionMethod, METHODS, MODEL_ALIGN, orchestrateRun, type RunOutcome } from '../../workflow/orchestrate-run.js';

export const runCommand: CliCommand = {
  name: 'run',
  summary: 'run a Neuroverse3D model on a target with image/label context pairs',
  usage: `usage: neuroverse run [--model <dir>] --target <img> [--context <image>,<label> [--context ...] | --context-set NAME ...] --out <file.nii.gz>
                      [--auto-context N] [--kind segment|generate] [--label V ...] [--structure NAME ...] [--align none|affine|deformable] [--method ${METHODS.join('|')}]
                      [--reference IMG] [--mini-context N|auto] [--device auto|cpu|cuda|directml|coreml|webgpu] [--precision auto|fp32|int8] [--workers N]
                      [--doubt FILE.nii.gz] [--json]

  --model DIR          model package folder (neuroverse model import makes one); default: the first installed
                       package for the task ($NEUROVERSE_MODELS, <data folder>/models, then the bundled one)
  --target IMG         NIfTI file or DICOM folder to segment/restore
  --context IMG,LABEL  one context pair; repeat for more (any number: APSP keeps memory flat)
  --context-set NAME   the pairs of a stored context set, in its order; its task (and labels unless --label);
                       repeat to pool the pairs of several sets of one task (e.g. one set per scanner)
  --auto-context N     use only the N pairs that fit this target best: all are aligned affinely (cached) and
                       ranked by local image similarity around the structure, plus the scanner match of their
                       set with the target's DICOM header; the ranking is printed (docs/alignment.md)
  --library DIR        library folder for --context-set (default $NEUROVERSE_LIBRARY, else <data dir>/library)
  --out FILE           result: a 0/1 mask (segment) or an image (generate), on the target's grid
  --kind K             segment (default, or the set's) or generate; --task K is the old spelling
  --label V            label values of multi-label context maps whose union is the foreground (repeatable)
  --structure NAME     a FreeSurfer aseg structure by name, both sides unless "left"/"right" is said
                       (hippocampus = 17+53, "left putamen" = 12); repeatable: each is one more structure, the
                       result holds structure k as value k (--label values together are the first)
  (no --context/--context-set: the library's set that fits is used: one whose scanner matches the target's
   DICOM header, else your own, else the starter set bundled with the app; the choice is printed)
  --structure NAME     a FreeSurfer aseg structure by name, both sides unless "left"/"right" is said
                       (hippocampus = 17+53, "left putamen" = 12); repeatable, adds to --label
  (no --context/--context-set: the library's set that fits is used: one whose scanner matches the target's
   DICOM header, else your own, else the starter set bundled with the app; the choice is printed)
  --align A            bring each pair onto the target first: none, affine (rigid+affine, ~10 s a pair) or
                       deformable (+ B-spline, ~1 min a pair); default ${DEFAULTS.segment.align} for atlas vote,
                       for the model what its manifest says (else ${MODEL_ALIGN}); ${DEFAULTS.generate.align} for generate
  --method M           model (the in-context model) or vote (majority vote of the aligned labels, no model);
                       default ${DEFAULTS.segment.method} for segment, model when --model is given; generate: nlm
                       (non-local means) or bias-field (N4-like), learned from the example pairs at run time, by
                       default when the set's task name or the examples ask for one (docs/restoration.md), else model
  --reference IMG      align through this reference image (e.g. the Colin27 T1 in resources/sample) instead of
                       each pair directly to the target: pairs are registered to it once (cached), the target
                       once per run; faster with many pairs, less accurate (docs/alignment.md)
  --workers N          registration worker threads (default: one per core, as memory allows)
  --doubt FILE         also write the per-voxel doubt (0–1): how evenly the aligned context labels split,
                       at least 0.5 where the model and the vote disagree; needs alignment (docs/alignment.md)
  --mini-context N     pairs per context-branch call (default auto: from free memory)
  --device D           auto (CUDA, DirectML, CoreML, WebGPU where usable, else CPU; every fallback's reason
                       is reported), cpu, cuda, directml, coreml or webgpu (a named one that fails is an error)
  --precision P        auto (the package's int8 variant on the CPU where it has one, else fp32), fp32 or int8
  --json               print one JSON object with timings instead of text

  Lesions and tumours (docs/lesions.md): a label that sits somewhere else in every patient
  --lesion             learn the lesion from the pairs at run time: --method ${DEFAULTS.lesion.method} by default (or threshold),
                       no alignment, no anatomy checks; an empty mask is a valid answer; prints lesion count and volumes.
                       --method model (--model DIR: a package trained for lesions) runs the in-context model on the
                       unaligned images instead, one channel, mask = output > 0.5.
                       A context set whose task marks a lesion (library add-pair --lesion) runs so without it
  --context IMG[+IMG2...],LABEL  with --lesion, a pair's further channels on its image's grid (e.g. FLAIR+T1c)
  --target-channel IMG the target's further channel(s), in the pairs' order (repeat for more)
  --lesion-csv FILE    also write the lesions (one line each: voxels, mL, centre) and the total as CSV`,
  async run(argv, io) {
    const t0 = performance.now();
    const args = parseArgs(argv, { value: [...RUN_FLAGS, 'target', 'out', 'doubt', 'uncertainty', 'lesion-csv'], boolean: ['json', ...RUN_BOOLEANS] });
    const targetPath = flag(args, 'target');
    const out = flag(args, 'out');
    if (!targetPath) throw new InputError(undefined, '--target is required', 'usage');
    if (!out) throw new InputError(undefined, '--out is required', 'usage');
    const { settings, library, workers } = runFlags(args);
    const lesionCsv = flag(args, 'lesion-csv');
    // A context set may mark a lesion itself: known once the run has resolved it.
    if (lesionCsv !== undefined && settings.context.kind === 'files' && !settings.lesion && !isLesionMethod(settings.method))
      throw new InputError(undefined, '--lesion-csv applies to --lesion runs', 'usage');
    // --doubt is the word everywhere (docs/development.md); --uncertainty is its old spelling, kept for one release.
    const doubtOut = flag(args, 'doubt') ?? flag(args, 'uncertainty');
    if (doubtOut !== undefined && !isNiftiName(doubtOut)) throw new InputError(doubtOut, '--doubt writes NIfTI: give a .nii or .nii.gz name', 'usage');

    const { progress, services } = cliRunServices(io, { library, workers });
    try {
      const load = (performance.now() - t0) / 1000;
      let t = performance.now();
      const target = await openVolumeForCli(targetPath, undefined, io);
      const readTarget = (performance.now() - t) / 1000;
      const outcome = await orchestrateRun({ ...settings, target, targetName: targetPath }, services);
      progress.done();
      if (settings.context.kind === 'suggested') io.err(`context set: "${outcome.contextName}" (${outcome.contextReason})`);
      // Printed whatever the output format: a radiologist reads them before the result.
      for (const w of outcome.qc) io.err(`warning: ${w.message}`);
      t = performance.now();
      await writeNifti(out, outcome.result, outcome.task === 'segment' ? { intent: 'label' } : {});
      if (doubtOut !== undefined) {
        if (!outcome.doubt) throw new InputError(undefined, '--doubt needs aligned context labels (--align affine or deformable) and --kind segment', 'usage');
        await writeNifti(doubtOut, outcome.doubt);
      }
      const lesionDetails = outcome.structures[0].lesion;
      if (lesionCsv !== undefined && !lesionDetails)
        throw new InputError(undefined, '--lesion-csv applies to lesion runs (--lesion, or a context set that marks a lesion)', 'usage');
      if (lesionCsv !== undefined && lesionDetails)
        await writeFileAtomic(lesionCsv, new TextEncoder().encode(lesionStatsCsv(lesionDetails.stats)), { overwrite: true });
      const write = (performance.now() - t) / 1000;
      const s = outcome.seconds;
      const seconds = {
        load: load + s.load,
        align: s.align,
        choose: s.choose,
        qc: s.qc,
        preprocess: readTarget + s.preprocess,
        vote: s.vote,
        targetEncoder: s.targetEncoder,
        context: s.context,
        decoder: s.decoder,
        postprocess: s.postprocess + write,
        total: (performance.now() - t0) / 1000,
      };
      const report = cliReport(outcome, out, settings.device ?? 'auto', seconds);
      if (hasFlag(args, 'json')) io.out(JSON.stringify(report));
      else printSummary(io, outcome, report, out, doubtOut);
      return 0;
    } finally {
      progress.done();
      await services.close();
    }
  },
};

/** The `--json` object: the run's outcome in the CLI's established field names. */
function cliReport(o: RunOutcome, out: string, device: string, seconds: Record<string, number>) {
  const s = o.structures[0];
  return {
    out,
    model: o.model?.dir ?? null,
    task: o.task,
    method: o.method,
    align: o.align,
    registered: o.alignment?.registered ?? 0,
    cachedAlignments: o.alignment?.cached ?? 0,
    referenceRegistered: o.alignment?.referenceRegistered ?? 0,
    contextSize: s.contextSize,
    miniContext: s.miniContext,
    baseline: s.baseline ? { voxels: s.baseline.voxels, agreement: s.baseline.agreement } : null,
    /** mL of the target whose label is in doubt (doubt ≥ 0.5). */
    uncertainMl: s.doubtfulMl,
    device,
    provider: o.choice?.provider ?? null,
    providerReason: o.choice?.reason ?? null,
    /** Every provider the chain considered, in order: used, unavailable (why), failed at creation or first run (why). */
    providerAttempts: o.choice?.attempts ?? null,
    precision: o.choice?.precision ?? null,
    precisionReason: o.choice?.precisionReason ?? null,
    seconds: Object.fromEntries(Object.entries(seconds).map(([k, v]) => [k, Math.round(v * 1000) / 1000])),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    /** With --auto-context: every given pair's score, and which were used. */
    contextChoice: s.contextChoice
      ? s.contextChoice.rows.map((c) => ({
          image: c.pair.imageFile,
          label: c.pair.labelFile,
          ...(c.pair.setName ? { set: c.pair.setName } : {}),
          similarity: c.similarity,
          headerMatch: c.headerMatch,
          score: c.score,
          rank: c.rank,
          chosen: c.chosen,
        }))
      : null,
    /** Checks of the aligned context pairs (also printed to stderr). */
    qc: o.qc.map((w) => ({
      kind: w.kind,
      ...(w.pair ? { pair: w.pair.imageFile } : {}),
      ...(w.value !== null ? { value: w.value } : {}),
      message: w.message,
    })),
    /** What "neuroverse export-seg --provenance" writes into the SEG. */
    provenance: o.provenance,
    /** Lesion runs: the rule learned from the pairs, lesion count and volumes (mL), largest first. */
    lesion: s.lesion
      ? {
          method: s.lesion.method,
          rule: s.lesion.rule,
          exampleDice: s.lesion.exampleDice === null ? null : Math.round(s.lesion.exampleDice * 1000) / 1000,
          count: s.lesion.stats.count,
          totalMl: Math.round(s.lesion.stats.totalMl * 1000) / 1000,
          lesions: s.lesion.stats.lesions.map((l) => ({ voxels: l.voxels, volumeMl: Math.round(l.volumeMl * 1000) / 1000, centreVoxel: l.centreVoxel })),
          seconds: Object.fromEntries(Object.entries(s.lesion.seconds).map(([k, v]) => [k, Math.round(v * 1000) / 1000])),
        }
      : null,
    /** The context set used and why (named, or the one that fits when none was named). */
    contextSet: o.sets.length ? { name: o.contextName, reason: o.contextReason, starter: o.starter } : null,
    /** Classical restoration, or the model's generation in tiles: what it chose, each example's PSNR before and after (the guard). */
    restoration: o.restoration,
  };
}

function printSummary(io: CliIo, o: RunOutcome, report: ReturnType<typeof cliReport>, out: string, doubtOut: string | undefined): void {
  const s = o.structures[0];
  const how = o.choice
    ? `${o.model?.dir}, mini-context ${s.miniContext}, ${o.choice.provider} ${o.choice.precision}: ${o.choice.reason}${o.restoration ? `; ${o.restoration.why}; examples: ${o.restoration.guard.message}` : ''}`
    : o.restoration
      ? `${o.restoration.method} (${o.restoration.why}; ${Object.entries(o.restoration.settings)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}); examples: ${o.restoration.guard.message}`
      : s.lesion
        ? `lesion ${o.method} fitted on the pairs`
        : isFusion(o.method)
          ? FUSION_NAMES[o.method]
          : o.method;
  const aligned = o.alignment ? `, aligned ${o.align}: ${o.alignment.registered} registered, ${o.alignment.cached} from cache` : '';
  io.out(`wrote ${out} (${o.task} by ${how}; ${s.contextSize} context pairs${aligned})`);
  if (s.contextChoice) {
    io.out(`context chosen for this target: ${s.contextChoice.n} of ${s.contextChoice.from} pairs, by local image similarity after affine alignment`);
    for (const c of [...s.contextChoice.rows].sort((a, b) => a.rank - b.rank))
      io.out(
        `  ${c.chosen ? '✓' : ' '} ${c.rank}. ${c.pair.imageFile}  similarity ${c.similarity.toFixed(3)}${c.headerMatch ? `, scanner match ${c.headerMatch}` : ''}`,
      );
  }
  if (s.lesion) {
    const l = s.lesion;
    const onPairs =
      l.exampleDice !== null ? `, Dice ${l.exampleDice.toFixed(3)} on the pairs${o.method === 'classifier' ? ' (each held out of its own fit)' : ''}` : '';
    const how = l.rule
      ? `rule from the pairs: score > ${+l.rule.threshold.toFixed(2)}, ${l.rule.keep === 'largest' ? 'largest component' : `components ≥ ${Math.round(l.rule.minMm3)} mm³`}${onPairs}`
      : "the model's output above its manifest's threshold, no cleanup";
    io.out(
      `lesions: ${l.stats.count}, total ${l.stats.totalMl.toFixed(2)} mL${l.stats.count ? ` (largest ${l.stats.lesions[0].volumeMl.toFixed(2)} mL)` : ''}; ${how}`,
    );
    for (const x of l.stats.lesions.slice(0, 10)) io.out(`  lesion ${x.index}: ${x.volumeMl.toFixed(3)} mL at voxel ${x.centreVoxel.join(', ')}`);
    if (l.stats.count > 10) io.out(`  … ${l.stats.count - 10} more (--lesion-csv FILE lists them all)`);
  }
  if (s.baseline) io.out(`atlas vote of the same aligned labels: ${s.baseline.voxels} voxels; agreement with the model (Dice) ${s.baseline.agreement}`);
  if (s.doubtfulMl !== null) io.out(`in doubt (doubt ≥ 0.5): ${s.doubtfulMl} mL${doubtOut ? `, map written to ${doubtOut}` : ''}`);
  io.out(
    `seconds: ${Object.entries(report.seconds)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}; peak RSS ${report.peakRssMB} MB`,
  );
}
