import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { InputError } from '../../common/errors.js';
import { parseDevice, parsePrecision } from '../../engine/index.js';
import type { Task } from '../../common/task.js';
import { Library, libraryDir, resolveContextSet, scannerMatch, type ScannerInfo } from '../../library/index.js';
import { isNiftiName, voxelVolumeMm3, writeNifti } from '../../imaging/index.js';
import { chooseAlign, chooseMethod, DEFAULTS, isLesionMethod, METHODS, MODEL_ALIGN } from '../../pipeline/defaults.js';
import { LESION_METHODS } from '../../lesion/segment-lesions.js';
import { lesionStatsCsv } from '../../export/lesion-stats.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import type { Method } from '../../pipeline/defaults.js';
import { runPipeline } from '../../pipeline/run.js';
import { DOUBT_SCALE, doubtfulVoxels } from '../../fusion/vote.js';
import { workerRunner } from '../../pipeline/model-runner.js';
import { ALIGN_MODES, RegistrationCache, registrationPool } from '../../registration/index.js';
import type { AlignMode } from '../../registration/index.js';
import { flag, flagAll, hasFlag, parseArgs } from '../args.js';
import type { CliCommand } from '../command.js';
import { openVolumeForCli } from '../open-volume.js';
import { cliProgress } from '../progress.js';
import { defaultDataDir, registrationCacheDir, resourcesDir } from '../../settings/paths.js';
import { findModels, modelPlaces, pickModel } from '../../workflow/models.js';
import { runProvenance } from '../../workflow/provenance.js';
import { sha256File } from '../../util/hash.js';

export const runCommand: CliCommand = {
  name: 'run',
  summary: 'run a Neuroverse3D model on a target with image/label context pairs',
  usage: `usage: neuroverse run [--model <dir>] --target <img> (--context <image>,<label> [--context ...] | --context-set NAME ...) --out <file.nii.gz>
                      [--auto-context N] [--task segment|generate] [--label V ...] [--align none|affine|deformable] [--method model|vote]
                      [--reference IMG] [--mini-context N|auto] [--device auto|cpu|cuda|directml|coreml|webgpu] [--precision auto|fp32|int8] [--workers N]
                      [--uncertainty FILE.nii.gz] [--json]
                      [--lesion [--target-channel IMG ...] [--lesion-csv FILE.csv]]

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
  --task T             segment (default) or generate
  --label V            label values of multi-label context maps whose union is the foreground (repeatable)
  --align A            bring each pair onto the target first: none, affine (rigid+affine, ~10 s a pair) or
                       deformable (+ B-spline, ~1 min a pair); default ${DEFAULTS.segment.align} for atlas vote,
                       for the model what its manifest says (else ${MODEL_ALIGN}); ${DEFAULTS.generate.align} for generate
  --method M           model (the in-context model) or vote (majority vote of the aligned labels, no model);
                       default ${DEFAULTS.segment.method} for segment, model when --model is given; generate: model
  --reference IMG      align through this reference image (e.g. the Colin27 T1 in resources/sample) instead of
                       each pair directly to the target: pairs are registered to it once (cached), the target
                       once per run; faster with many pairs, less accurate (docs/alignment.md)
  --workers N          registration worker threads (default: one per core, as memory allows)
  --uncertainty FILE   also write the per-voxel doubt (0–1): how evenly the aligned context labels split,
                       at least 0.5 where the model and the vote disagree; needs alignment (docs/alignment.md)
  --mini-context N     pairs per context-branch call (default auto: from free memory)
  --device D           auto (CUDA, DirectML, CoreML, WebGPU where usable, else CPU; every fallback's reason
                       is reported), cpu, cuda, directml, coreml or webgpu (a named one that fails is an error)
  --precision P        auto (the package's int8 variant on the CPU where it has one, else fp32), fp32 or int8
  --json               print one JSON object with timings instead of text

  Lesions and tumours (docs/lesions.md): a label that sits somewhere else in every patient
  --lesion             learn the lesion from the pairs at run time: --method ${DEFAULTS.lesion.method} by default (or threshold),
                       no alignment, no anatomy checks; an empty mask is a valid answer; prints lesion count and volumes
  --context IMG[+IMG2...],LABEL  with --lesion, a pair's further channels on its image's grid (e.g. FLAIR+T1c)
  --target-channel IMG the target's further channel(s), in the pairs' order (repeat for more)
  --lesion-csv FILE    also write the lesions (one line each: voxels, mL, centre) and the total as CSV`,
  async run(argv, io) {
    const t0 = performance.now();
    const args = parseArgs(argv, {
      value: [
        'model',
        'target',
        'context',
        'out',
        'task',
        'label',
        'mini-context',
        'device',
        'context-set',
        'library',
        'align',
        'method',
        'workers',
        'reference',
        'uncertainty',
        'precision',
        'auto-context',
        // Lesion runs (issue 23).
        'target-channel',
        'lesion-csv',
      ],
      boolean: ['json', 'lesion'],
    });
    const modelFlag = flag(args, 'model');
    const targetPath = flag(args, 'target');
    const out = flag(args, 'out');
    const contexts = flagAll(args, 'context');
    if (!targetPath) throw new InputError(undefined, '--target is required', 'usage');
    if (!out) throw new InputError(undefined, '--out is required', 'usage');
    const setNames = flagAll(args, 'context-set');
    const setName = setNames.length ? setNames.join(' + ') : undefined;
    if (contexts.length === 0 && !setName) throw new InputError(undefined, 'give at least one --context image,label pair, or --context-set NAME', 'usage');
    if (contexts.length > 0 && setName) throw new InputError(undefined, 'give --context pairs or --context-set, not both', 'usage');
    const autoFlag = flag(args, 'auto-context');
    const autoContext = autoFlag === undefined ? undefined : Number(autoFlag);
    if (autoContext !== undefined && !(Number.isInteger(autoContext) && autoContext >= 1))
      throw new InputError(undefined, `--auto-context must be a positive integer (got "${autoFlag}")`, 'usage');
    let task = (flag(args, 'task') ?? 'segment') as Task;
    if (task !== 'segment' && task !== 'generate') throw new InputError(undefined, `--task must be segment or generate (got "${task}")`, 'usage');
    let labels = flagAll(args, 'label').map((v) => {
      const n = Number(v);
      if (!Number.isInteger(n)) throw new InputError(undefined, `--label must be an integer label value (got "${v}")`, 'usage');
      return n;
    });
    if (labels.length > 0 && task !== 'segment') throw new InputError(undefined, '--label only applies to --task segment', 'usage');
    const mc = flag(args, 'mini-context') ?? 'auto';
    const miniContext = mc === 'auto' ? 'auto' : Number(mc);
    if (miniContext !== 'auto' && !(Number.isInteger(miniContext) && miniContext >= 1)) {
      throw new InputError(undefined, `--mini-context must be a positive integer or auto (got "${mc}")`, 'usage');
    }
    const device = parseDevice(flag(args, 'device'));
    const precision = parsePrecision(flag(args, 'precision'));
    // --- Lesion runs (issue 23): --lesion or a lesion method; pairs may carry further channels as IMG+IMG2,LABEL. ---
    const lesionMethodFlag = flag(args, 'method') as Method | undefined;
    const lesion = hasFlag(args, 'lesion') || isLesionMethod(lesionMethodFlag);
    const targetChannels = flagAll(args, 'target-channel');
    const lesionCsv = flag(args, 'lesion-csv');
    if (!lesion && (targetChannels.length > 0 || lesionCsv !== undefined))
      throw new InputError(undefined, '--target-channel and --lesion-csv apply to --lesion runs', 'usage');
    if (lesion && lesionMethodFlag !== undefined && !isLesionMethod(lesionMethodFlag))
      throw new InputError(undefined, `--lesion runs use --method ${LESION_METHODS.join(' or ')} (got "${lesionMethodFlag}")`, 'usage');
    if (lesion && modelFlag)
      throw new InputError(undefined, '--model does not apply to --lesion runs (the lesion methods are fitted on the pairs at run time)', 'usage');
    if (lesion && flag(args, 'task') === 'generate') throw new InputError(undefined, '--lesion applies to --task segment', 'usage');
    for (const f of targetChannels) if (!isNiftiName(f)) throw new InputError(f, "--target-channel must be a NIfTI file on the target's grid", 'usage');
    // --- end of the lesion block ---
    let pairsSpec: Array<{ imageFile: string; labelFile: string; imageSha256?: string; labelSha256?: string; setName?: string; channelFiles?: string[] }> =
      contexts.map((c) => {
        const parts = c.split(',');
        if (parts.length !== 2 || !parts[0] || !parts[1]) throw new InputError(undefined, `--context needs image,label (got "${c}")`, 'usage');
        if (!lesion) return { imageFile: parts[0], labelFile: parts[1] };
        const [imageFile, ...channelFiles] = parts[0].split('+');
        return { imageFile, labelFile: parts[1], channelFiles };
      });
    const scanners = new Map<string, ScannerInfo>();
    if (setNames.length) {
      // The set decides the task; its stored files are read-only and named by hash, so the paths stay valid.
      // Several sets pool their pairs: they must be of one task (one label vocabulary), e.g. one per scanner.
      const lib = await Library.open(libraryDir(flag(args, 'library')));
      try {
        const first = resolveContextSet(lib, setNames[0], labels);
        if (flag(args, 'task') && flag(args, 'task') !== first.task)
          throw new InputError(undefined, `--task ${flag(args, 'task')} does not match set "${setNames[0]}" (task ${first.task})`, 'usage');
        task = first.task;
        labels = first.labels;
        pairsSpec = [];
        const seen = new Set<string>();
        for (const name of setNames) {
          const r = name === setNames[0] ? first : resolveContextSet(lib, name, labels);
          if (r.set.task.name !== first.set.task.name)
            throw new InputError(
              undefined,
              `set "${name}" is for task "${r.set.task.name}", set "${setNames[0]}" for "${first.set.task.name}": pooled sets must share their task`,
              'usage',
            );
          scanners.set(r.set.name, r.set.scanner);
          for (const p of r.pairs) {
            const key = `${p.imageSha256}:${p.labelSha256}`;
            if (!seen.has(key)) {
              seen.add(key);
              pairsSpec.push(p);
            }
          }
        }
      } finally {
        lib.close();
      }
    }

    const alignFlag = flag(args, 'align') as AlignMode | undefined;
    if (alignFlag !== undefined && !ALIGN_MODES.includes(alignFlag))
      throw new InputError(undefined, `--align must be ${ALIGN_MODES.join(', ')} (got "${alignFlag}")`, 'usage');
    const methodFlag = flag(args, 'method') as Method | undefined;
    if (methodFlag !== undefined && !METHODS.includes(methodFlag))
      throw new InputError(undefined, `--method must be ${METHODS.join(' or ')} (got "${methodFlag}")`, 'usage');
    if (methodFlag === 'vote' && task !== 'segment') throw new InputError(undefined, '--method vote applies to --task segment only', 'usage');
    if (methodFlag === 'vote' && modelFlag) throw new InputError(undefined, '--model does not apply to --method vote (atlas fusion uses no model)', 'usage');
    const method = chooseMethod(task, { method: methodFlag, modelNamed: modelFlag !== undefined, lesion });
    const reference = flag(args, 'reference');
    const uncertaintyOut = flag(args, 'uncertainty');
    if (uncertaintyOut !== undefined && !isNiftiName(uncertaintyOut))
      throw new InputError(uncertaintyOut, '--uncertainty writes NIfTI: give a .nii or .nii.gz name', 'usage');
    if (reference !== undefined && !(isNiftiName(reference) && existsSync(reference)))
      throw new InputError(reference, 'the --reference image must be an existing NIfTI file');
    const workersFlag = flag(args, 'workers');
    const workers = workersFlag === undefined ? undefined : Number(workersFlag);
    if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1))
      throw new InputError(undefined, `--workers must be a positive integer (got "${workersFlag}")`, 'usage');

    // Without --model, the same lookup as the app: $NEUROVERSE_MODELS, <data folder>/models, the bundled default.
    const model =
      method === 'vote' || isLesionMethod(method)
        ? null
        : (modelFlag ?? pickModel(await findModels(modelPlaces(defaultDataDir(), resourcesDir())), undefined, task).dir);
    // The model runs in a compute worker (pipeline/model-runner.ts), as in the app.
    const engine = model ? await workerRunner(model, device, precision) : null;
    const align = chooseAlign(task, method, alignFlag, engine?.manifest.alignment);
    if (reference !== undefined && align === 'none') throw new InputError(undefined, '--reference needs --align affine or deformable', 'usage');
    const needsPool = align !== 'none' || method === 'vote';
    if (lesion && align !== 'none')
      throw new InputError(undefined, `--lesion runs are not aligned (got --align ${align}): a lesion is not where the examples' lesions are`, 'usage');
    const pool = needsPool ? registrationPool(workers) : null;
    const cache = new RegistrationCache(registrationCacheDir(defaultDataDir()));
    try {
      if (engine && !engine.manifest.tasks.includes(task))
        throw new InputError(model!, `model was not trained for task "${task}" (manifest tasks: ${engine.manifest.tasks.join(', ')})`);
      const load = (performance.now() - t0) / 1000;
      let t = performance.now();
      const target = await openVolumeForCli(targetPath, undefined, io);
      const headerMatchOf = (set: string | undefined) => {
        const scanner = set ? scanners.get(set) : undefined;
        return scanner ? scannerMatch(scanner, target.source.dicom).score : 0;
      };
      const readTarget = (performance.now() - t) / 1000;
      for (const p of pairsSpec)
        for (const f of [p.imageFile, p.labelFile, ...(p.channelFiles ?? [])])
          if (!isNiftiName(f)) throw new InputError(f, 'context pairs must be NIfTI files (convert a DICOM series with neuroverse convert)');
      // Every pair is checked before any compute so bad input fails fast (checkPairsFirst); then read again
      // only when it is used, so memory does not grow with the number of pairs.
      const progress = cliProgress(io);
      const result = await runPipeline({
        target,
        targetFile: targetPath,
        structures: [{ task, pairs: pairsSpec, labels, name: labels.length ? `label${labels.length > 1 ? 's' : ''} ${labels.join('+')}` : 'the labels' }],
        align,
        method,
        model: engine ?? undefined,
        pool: pool ?? undefined,
        cache,
        reference,
        miniContext,
        checkPairsFirst: !lesion,
        targetChannels: lesion ? targetChannels : undefined,
        autoContext: autoContext === undefined ? undefined : { n: autoContext, headerMatch: (p) => headerMatchOf((p as { setName?: string }).setName) },
        onProgress: (stage, fraction, message) => progress.report(stage, fraction, message),
      });
      progress.done();
      const s = result.structures[0];
      // Printed whatever the output format: a radiologist reads them before the result.
      for (const w of result.qc) io.err(`warning: ${w.message}`);
      t = performance.now();
      await writeNifti(out, s.volume, task === 'segment' ? { intent: 'label' } : {});
      let uncertainMl: number | null = null;
      if (uncertaintyOut !== undefined) {
        if (!s.uncertainty)
          throw new InputError(undefined, '--uncertainty needs aligned context labels (--align affine or deformable) and the segment task', 'usage');
        await writeNifti(uncertaintyOut, { ...s.volume, data: s.uncertainty, slope: 1 / DOUBT_SCALE, intercept: 0, description: 'neuroverse doubt (0-1)' });
      }
      if (s.uncertainty) uncertainMl = Math.round((doubtfulVoxels(s.uncertainty) * voxelVolumeMm3(s.volume.affine)) / 10) / 100;
      if (lesionCsv !== undefined && s.lesion) await writeFileAtomic(lesionCsv, new TextEncoder().encode(lesionStatsCsv(s.lesion.stats)), { overwrite: true });
      const write = (performance.now() - t) / 1000;
      const seconds = {
        load,
        align: result.seconds.align,
        choose: result.seconds.choose,
        qc: result.seconds.qc,
        preprocess: readTarget + result.seconds.preprocess,
        vote: result.seconds.vote,
        targetEncoder: result.seconds.targetEncoder,
        context: result.seconds.context,
        decoder: result.seconds.decoder,
        postprocess: result.seconds.postprocess + write,
        total: (performance.now() - t0) / 1000,
      };
      // Files given on the command line are identified by content, as library pairs are by their stored hashes.
      const usedSet = new Set(s.pairs);
      const used = pairsSpec.filter((p) => usedSet.has(p));
      const hashed = await Promise.all(
        used.map(async (p) => ({
          imageSha256: p.imageSha256 ?? (await sha256File(p.imageFile)),
          labelSha256: p.labelSha256 ?? (await sha256File(p.labelFile)),
        })),
      );
      const provenance = runProvenance(method, align, engine?.manifest ?? null, { name: setName ?? 'pairs given with --context', pairs: hashed });
      const peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
      const report = {
        out,
        model,
        task,
        method,
        align,
        registered: result.alignment?.registered ?? 0,
        cachedAlignments: result.alignment?.cached ?? 0,
        referenceRegistered: result.alignment?.referenceRegistered ?? 0,
        contextSize: s.contextSize,
        miniContext: s.miniContext,
        baseline: s.baseline,
        /** mL of the target whose label is in doubt (doubt ≥ 0.5). */
        uncertainMl,
        device,
        provider: result.choice?.provider ?? null,
        providerReason: result.choice?.reason ?? null,
        /** Every provider the chain considered, in order: used, unavailable (why), failed at creation or first run (why). */
        providerAttempts: result.choice?.attempts ?? null,
        precision: result.choice?.precision ?? null,
        precisionReason: result.choice?.precisionReason ?? null,
        seconds: Object.fromEntries(Object.entries(seconds).map(([k, v]) => [k, Math.round(v * 1000) / 1000])),
        peakRssMB,
        /** With --auto-context: every given pair's score, and which were used. */
        contextChoice: s.contextChoice
          ? s.contextChoice.scores.map((c) => ({
              image: pairsSpec[c.index].imageFile,
              label: pairsSpec[c.index].labelFile,
              ...(pairsSpec[c.index].setName ? { set: pairsSpec[c.index].setName } : {}),
              similarity: c.similarity,
              headerMatch: c.headerMatch,
              score: c.score,
              rank: c.rank,
              chosen: c.chosen,
            }))
          : null,
        /** Checks of the aligned context pairs (also printed to stderr). */
        qc: result.qc.map((w) => ({
          kind: w.kind,
          ...(w.pair !== undefined ? { pair: s.pairs[w.pair].imageFile } : {}),
          ...(w.value !== undefined ? { value: w.value } : {}),
          message: w.message,
        })),
        /** What "neuroverse export-seg --provenance" writes into the SEG. */
        provenance,
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
      };
      if (hasFlag(args, 'json')) {
        io.out(JSON.stringify(report));
      } else {
        const how = result.choice
          ? `${model}, mini-context ${s.miniContext}, ${result.choice.provider} ${result.choice.precision}: ${result.choice.reason}`
          : s.lesion
            ? `lesion ${method} fitted on the pairs`
            : 'majority vote';
        const aligned = result.alignment ? `, aligned ${align}: ${result.alignment.registered} registered, ${result.alignment.cached} from cache` : '';
        io.out(`wrote ${out} (${task} by ${how}; ${s.contextSize} context pairs${aligned})`);
        if (s.contextChoice) {
          io.out(`context chosen for this target: ${s.contextChoice.n} of ${s.contextChoice.from} pairs, by local image similarity after affine alignment`);
          for (const c of [...s.contextChoice.scores].sort((a, b) => a.rank - b.rank))
            io.out(
              `  ${c.chosen ? '✓' : ' '} ${c.rank}. ${pairsSpec[c.index].imageFile}  similarity ${c.similarity.toFixed(3)}${c.headerMatch ? `, scanner match ${c.headerMatch}` : ''}`,
            );
        }
        if (s.lesion) {
          const l = s.lesion;
          const rule = l.rule.keep === 'largest' ? 'largest component' : `components ≥ ${Math.round(l.rule.minMm3)} mm³`;
          io.out(
            `lesions: ${l.stats.count}, total ${l.stats.totalMl.toFixed(2)} mL${l.stats.count ? ` (largest ${l.stats.lesions[0].volumeMl.toFixed(2)} mL)` : ''}; rule from the pairs: score > ${+l.rule.threshold.toFixed(2)}, ${rule}${l.exampleDice !== null ? `, Dice ${l.exampleDice.toFixed(3)} on the pairs${method === 'classifier' ? ' (each held out of its own fit)' : ''}` : ''}`,
          );
          for (const x of l.stats.lesions.slice(0, 10)) io.out(`  lesion ${x.index}: ${x.volumeMl.toFixed(3)} mL at voxel ${x.centreVoxel.join(', ')}`);
          if (l.stats.count > 10) io.out(`  … ${l.stats.count - 10} more${lesionCsv ? ` in ${lesionCsv}` : ' (--lesion-csv FILE lists them all)'}`);
        }
        if (s.baseline) io.out(`atlas vote of the same aligned labels: ${s.baseline.voxels} voxels; agreement with the model (Dice) ${s.baseline.agreement}`);
        if (uncertainMl !== null) io.out(`in doubt (doubt ≥ 0.5): ${uncertainMl} mL${uncertaintyOut ? `, map written to ${uncertaintyOut}` : ''}`);
        io.out(
          `seconds: ${Object.entries(report.seconds)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}; peak RSS ${peakRssMB} MB`,
        );
      }
      return 0;
    } finally {
      await engine?.close();
      await pool?.close();
    }
  },
};
