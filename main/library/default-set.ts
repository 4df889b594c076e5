import type { Task } from '../common/task.js';
import { scannerMatch } from './scanner-match.js';
import type { ContextSetInfo } from './types.js';

export interface DefaultSetChoice {
  set: ContextSetInfo;
  /** Why this one, in a sentence the CLI prints and the Run panel shows. */
  reason: string;
  /** Whether it is the bundled starter set. */
  starter: boolean;
}

/**
 * The set a run without a named context uses: among the sets of the task that have pairs and whose label
 * maps hold every wanted label value, a set whose scanner matches the target's DICOM header (model, then
 * manufacturer), else a user's own set (first by name), else the bundled starter set. A user's set wins
 * over the starter because it was made on the user's scanner and protocol; the starter is synthetic. A lesion set
 * (its label marks a lesion, not anatomy) is chosen only for a lesion run, and an anatomy set only for the others:
 * a tumour set cannot answer "the hippocampus", nor an atlas set "the tumour".
 */
export function chooseDefaultSet(
  sets: ContextSetInfo[],
  opts: { task?: Task; lesion?: boolean; labels?: readonly number[]; dicom?: Record<string, unknown>; starter?: string | null },
): DefaultSetChoice | null {
  const task = opts.task ?? 'segment';
  const wanted = opts.labels ?? [];
  const lesion = opts.lesion ?? false;
  const fits = sets
    .filter((s) => s.task.kind === task && (s.task.lesion === true) === lesion && s.pairs.length > 0 && holds(s, wanted))
    .sort((a, b) => a.name.localeCompare(b.name));
  const isStarter = (s: ContextSetInfo) => s.name === opts.starter;
  const dicom = opts.dicom ?? {};
  if (dicom.manufacturer) {
    const full = fits.find((s) => !isStarter(s) && scannerMatch(s.scanner, dicom).model);
    if (full) return { set: full, reason: `its scanner matches the target's DICOM header (${dicom.manufacturer} ${dicom.model})`, starter: false };
    const part = fits.find((s) => !isStarter(s) && scannerMatch(s.scanner, dicom).manufacturer);
    if (part) return { set: part, reason: `its scanner's manufacturer matches the target's DICOM header (${dicom.manufacturer})`, starter: false };
  }
  const own = fits.find((s) => !isStarter(s));
  if (own)
    return {
      set: own,
      reason: `your own ${lesion ? 'lesion' : task === 'segment' ? 'segmentation' : 'generation'} set${wanted.length ? ` holding label(s) ${wanted.join(', ')}` : ''}`,
      starter: false,
    };
  const starter = fits.find(isStarter);
  if (starter) return { set: starter, reason: 'the starter set bundled with the app (no set of your own fits this run)', starter: true };
  return null;
}

/** Every wanted value occurs in some pair's label map (unknown value lists count as holding it). */
function holds(set: ContextSetInfo, wanted: readonly number[]): boolean {
  if (wanted.length === 0) return true;
  const present = new Set<number>();
  for (const p of set.pairs) {
    if (!p.label.values) return true;
    p.label.values.forEach((v) => present.add(v));
  }
  return wanted.every((v) => present.has(v));
}
