import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../common/errors.js';
import type { Library } from './library.js';

/** What resources/starter-library/manifest.json holds (written by native-models/scripts/build_starter_library.py). */
export interface StarterManifest {
  format: 'neuroverse-starter-library';
  version: number;
  set: string;
  task: string;
  taskKind: 'segment';
  structure: string;
  scanner: string;
  labels: number[];
  description?: string;
  licence: string;
  pairs: Array<{ image: string; label: string; source?: string }>;
}

export interface StarterInstall {
  /** The set's name, whether installed now or before. */
  set: string;
  /** Pairs added by this call (0 when it was installed before, or the user removed it). */
  added: number;
  /** Pairs of an earlier version of the set that this call moved to the trash (replaced by the new ones). */
  replaced?: number;
  /** Why nothing was added, where nothing was. */
  skipped?: 'installed-before' | 'no-starter' | 'name-taken';
}

/**
 * Pairs a run on the starter set uses when the user names none (--auto-context): the starter has more,
 * and the best-fitting few beat all of them at a fraction of the registration time (docs/alignment.md).
 */
export const STARTER_CONTEXT_SIZE = 4;

/** The audit action that records an install: once written, the starter set is never added again. */
export const STARTER_AUDIT_ACTION = 'install-starter';

export function starterDir(resources: string): string {
  return join(resources, 'starter-library');
}

/** The starter folder to install from, or undefined where NEUROVERSE_STARTER=off (sites that ship their own sets, tests of an empty library). */
export function starterSource(resources: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.NEUROVERSE_STARTER === 'off' ? undefined : starterDir(resources);
}

export function readStarterManifest(dir: string): StarterManifest | null {
  const file = join(dir, 'manifest.json');
  if (!existsSync(file)) return null;
  let m: StarterManifest;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as StarterManifest;
  } catch (err) {
    throw new InputError(file, `is not valid JSON: ${(err as Error).message}`);
  }
  if (m.format !== 'neuroverse-starter-library' || !Array.isArray(m.pairs) || !m.set || !m.task || !m.scanner)
    throw new InputError(file, 'is not a starter library manifest (format neuroverse-starter-library with set, task, scanner, pairs)');
  return m;
}

/**
 * Adds the bundled starter context set to a library the first time it is opened with one at hand.
 * Recorded in the audit log (one row per manifest version): a set the user renamed, emptied or trashed
 * is not put back, and a user's set of the same name is never touched. Pairs already present are
 * skipped, so an install cut short (crash, two processes) completes on the next open.
 * A new version (the pairs re-rendered) replaces the earlier version's pairs still in the set, which go to the
 * trash; the user's own pairs in it stay. Where an earlier version was installed and none of its pairs are left
 * (the user emptied or removed the set), the new version is not added either.
 */
export async function ensureStarterSet(library: Library, dir: string): Promise<StarterInstall> {
  const m = readStarterManifest(dir);
  if (!m) return { set: '', added: 0, skipped: 'no-starter' };
  const done = library.db
    .prepare('SELECT 1 FROM audit_log WHERE action = ? AND json_extract(detail_json, ?) = ? AND json_extract(detail_json, ?) = ? LIMIT 1')
    .get(STARTER_AUDIT_ACTION, '$.set', m.set, '$.version', m.version);
  if (done) return { set: m.set, added: 0, skipped: 'installed-before' };
  const existing = library.getSet(m.set);
  if (existing && (existing.task.name !== m.task || existing.scanner.name !== m.scanner)) return { set: m.set, added: 0, skipped: 'name-taken' };
  const earlier = library.db
    .prepare('SELECT 1 FROM audit_log WHERE action = ? AND json_extract(detail_json, ?) = ? AND json_extract(detail_json, ?) < ? LIMIT 1')
    .get(STARTER_AUDIT_ACTION, '$.set', m.set, '$.version', m.version);
  let replaced = 0;
  if (earlier) {
    // The bundled pairs were added from the app's starter folder; the user's own have other sources.
    const bundled = (existing?.pairs ?? []).filter((p) => p.imageSource !== null && basename(dirname(p.imageSource)) === basename(dir));
    if (bundled.length === 0) {
      library.transaction(() => library.audit(STARTER_AUDIT_ACTION, { set: m.set, version: m.version, pairs: m.pairs.length, added: 0, licence: m.licence }));
      return { set: m.set, added: 0, skipped: 'installed-before' };
    }
    for (const p of bundled) library.removePair(p.id);
    replaced = bundled.length;
  }
  let added = 0;
  for (const p of m.pairs) {
    try {
      await library.addPair({
        set: m.set,
        task: { name: m.task, kind: m.taskKind, structure: m.structure, labels: m.labels },
        scanner: { name: m.scanner, description: 'synthetic T1-weighted heads rendered from label maps; bundled with the app' },
        image: { path: join(dir, p.image) },
        label: { path: join(dir, p.label) },
      });
      added++;
    } catch (err) {
      if (err instanceof InputError && err.code === 'duplicate') continue;
      // A user's task of the same name with other label values: leave the library as it is.
      if (err instanceof InputError && err.code === 'conflict') return { set: m.set, added, skipped: 'name-taken' };
      throw err;
    }
  }
  library.transaction(() =>
    library.audit(STARTER_AUDIT_ACTION, { set: m.set, version: m.version, pairs: m.pairs.length, added, replaced, licence: m.licence }),
  );
  return { set: m.set, added, ...(replaced ? { replaced } : {}) };
}

/** The starter set's name from the bundled manifest, or null where the app ships none. */
export function starterSetName(resources: string): string | null {
  return readStarterManifest(starterDir(resources))?.set ?? null;
}

/**
 * The bundled starter heads as intracranial-volume atlases (pipeline/icv.ts): their label maps come from whole-head
 * label maps whose extra-cerebral labels were dropped, so they are non-zero exactly inside the skull (brain and the
 * CSF around it). Empty where the app ships no starter or NEUROVERSE_STARTER=off.
 */
export function starterIcvAtlases(
  resources: string,
  env: NodeJS.ProcessEnv = process.env,
): { atlases: { imageFile: string; labelFile: string }[]; scale: number; name: string; use: number } {
  const dir = starterSource(resources, env);
  const m = dir ? readStarterManifest(dir) : null;
  return {
    atlases: m ? m.pairs.map((p) => ({ imageFile: join(dir!, p.image), labelFile: join(dir!, p.label) })) : [],
    scale: STARTER_ICV_SCALE,
    // Any four agree with the reference as well as all seven (leave-one-out mean |error| 8.9–10.8 % for every
    // four of the seven, 9.2 % for all; docs/volumetry.md), at four registrations instead of seven.
    use: 4,
    name: `the bundled starter heads, calibrated to FreeSurfer brain masks on five real heads (docs/volumetry.md)`,
  };
}

/**
 * The starter heads' voted intracranial volume times this is FreeSurfer's brain-mask volume on the five real dev
 * heads (mean ratio 1.226; leave-one-out mean |error| 9 %, docs/volumetry.md, scripts/eval/icv-dev-heads.ts).
 * Affinely registered, the synthetic heads come out small: their rendered scalp and soft tissue are thicker
 * relative to the skull than on real scans, and a whole-head affine registration matches the head's outline.
 */
export const STARTER_ICV_SCALE = 1.23;
