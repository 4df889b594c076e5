import { existsSync } from 'node:fs';
import { InputError } from '../common/errors.js';
import { asegStructure, ASEG_STRUCTURES } from '../common/aseg-names.js';
import type { Task } from '../common/task.js';
import { parseDevice, parsePrecision } from '../engine/index.js';
import { isNiftiName } from '../imaging/index.js';
import { checkRunSettings, type AlignMode, type Method, type RunContext, type RunRequest } from '../workflow/orchestrate-run.js';
import { flag, flagAll, hasFlag, type ParsedArgs } from './args.js';

/** The value flags that say how a run is made; `run` and `batch` take the same ones. */
export const RUN_FLAGS = [
  'context',
  'context-set',
  'library',
  'kind',
  'task',
  'label',
  'structure',
  'mini-context',
  'device',
  'precision',
  'align',
  'method',
  'model',
  'workers',
  'reference',
  'auto-context',
  'target-channel',
];

/** The boolean flags of a run. */
export const RUN_BOOLEANS = ['lesion'];

export interface RunFlags {
  /** The run's settings, without its target. */
  settings: Omit<RunRequest, 'target' | 'targetName'>;
  library?: string;
  workers?: number;
}

/**
 * Flags in, a RunRequest's settings out. Only what a flag's text can get wrong is checked here (numbers, file
 * names); every rule about what a run may be is in workflow/orchestrate-run.ts, the same for the app.
 */
export function runFlags(args: ParsedArgs): RunFlags {
  const contexts = flagAll(args, 'context');
  const lesion = hasFlag(args, 'lesion');
  const targetChannels = flagAll(args, 'target-channel');
  for (const f of targetChannels) if (!isNiftiName(f)) throw new InputError(f, "--target-channel must be a NIfTI file on the target's grid", 'usage');
  const setNames = flagAll(args, 'context-set');
  if (contexts.length > 0 && setNames.length > 0) throw new InputError(undefined, 'give --context pairs or --context-set, not both', 'usage');
  const context: RunContext = setNames.length
    ? { kind: 'sets', names: setNames }
    : contexts.length
      ? {
          kind: 'files',
          pairs: contexts.map((c) => {
            const parts = c.split(',');
            if (parts.length !== 2 || !parts[0] || !parts[1]) throw new InputError(undefined, `--context needs image,label (got "${c}")`, 'usage');
            // A lesion pair may name its further channels: IMG+IMG2,LABEL (FLAIR first, then e.g. T1c).
            const [imageFile, ...channelFiles] = lesion ? parts[0].split('+') : [parts[0]];
            for (const f of [imageFile, ...channelFiles, parts[1]])
              if (!isNiftiName(f)) throw new InputError(f, 'context pairs must be NIfTI files (convert a DICOM series with neuroverse convert)');
            return { imageFile, labelFile: parts[1], ...(channelFiles.length ? { channelFiles } : {}) };
          }),
        }
      : { kind: 'suggested' };
  const autoContext = positiveInt(args, 'auto-context');
  // --kind says segment or generate (docs/development.md, vocabulary); `--task segment|generate` is its old
  // spelling, kept for one release.
  const kindFlag = flag(args, 'kind') ?? flag(args, 'task');
  const task = kindFlag as Task | undefined;
  if (task !== undefined && task !== 'segment' && task !== 'generate')
    throw new InputError(undefined, `--kind must be segment or generate (got "${kindFlag}")`, 'usage');
  const labels = flagAll(args, 'label').map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new InputError(undefined, `--label must be an integer label value (got "${v}")`, 'usage');
    return n;
  });
  if (labels.length > 0 && task === 'generate') throw new InputError(undefined, '--label only applies to --kind segment', 'usage');
  // --label values are one structure (their union); each --structure NAME is one more, by its FreeSurfer aseg
  // name (both sides unless "left"/"right" is said): the result holds structure k as value k.
  const structures = labels.length ? [{ name: `label${labels.length > 1 ? 's' : ''} ${labels.join('+')}`, labels }] : [];
  for (const name of flagAll(args, 'structure')) {
    if (task === 'generate') throw new InputError(undefined, '--structure only applies to --kind segment', 'usage');
    const st = asegStructure(name);
    if (!st)
      throw new InputError(
        undefined,
        `--structure: no structure "${name}" in the FreeSurfer aseg table (e.g. ${ASEG_STRUCTURES.slice(0, 6)
          .map((x) => x.name)
          .join(', ')}; or give --label values)`,
        'usage',
      );
    structures.push({ name: st.name, labels: [...st.labels] });
  }
  const mc = flag(args, 'mini-context') ?? 'auto';
  const miniContext = mc === 'auto' ? 'auto' : Number(mc);
  if (miniContext !== 'auto' && !(Number.isInteger(miniContext) && miniContext >= 1))
    throw new InputError(undefined, `--mini-context must be a positive integer or auto (got "${mc}")`, 'usage');
  const reference = flag(args, 'reference');
  if (reference !== undefined && !(isNiftiName(reference) && existsSync(reference)))
    throw new InputError(reference, 'the --reference image must be an existing NIfTI file');
  const model = flag(args, 'model');
  const settings: RunFlags['settings'] = {
    context,
    task,
    structures: structures.length ? structures : undefined,
    method: flag(args, 'method') as Method | undefined,
    align: flag(args, 'align') as AlignMode | undefined,
    model: model ? { dir: model } : undefined,
    device: parseDevice(flag(args, 'device')),
    precision: parsePrecision(flag(args, 'precision')),
    miniContext,
    autoContext,
    reference,
    ...(lesion ? { lesion } : {}),
    ...(targetChannels.length ? { targetChannels } : {}),
  };
  // Before any file is opened, in the flags' own words.
  checkRunSettings(settings, {
    task: '--kind',
    method: '--method',
    align: '--align',
    model: '--model',
    autoContext: '--auto-context',
    miniContext: '--mini-context',
  });
  return {
    settings,
    library: flag(args, 'library'),
    workers: positiveInt(args, 'workers'),
  };
}

function positiveInt(args: ParsedArgs, name: string): number | undefined {
  const v = flag(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 1)) throw new InputError(undefined, `--${name} must be a positive integer (got "${v}")`, 'usage');
  return n;
}
