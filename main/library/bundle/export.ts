import { InputError } from '../../common/errors.js';
import type { Library } from '../library.js';
import { volumeMeta } from '../volume-rows.js';
import type { ContextSetInfo } from '../types.js';
import { taskWord } from '../task-word.js';
import { BUNDLE_FORMAT, BUNDLE_VERSION, encodeManifest, MANIFEST_NAME, type BundleManifest } from './manifest.js';
import { writeZip, type ZipSource } from '../zip.js';

export interface ExportOptions {
  /** One context set; default: every set in the library. */
  set?: string;
  overwrite?: boolean;
}

export interface ExportSummary {
  file: string;
  sets: number;
  pairs: number;
  volumes: number;
  bytes: number;
}

/** The manifest for the chosen sets (live pairs only: the trash stays local). */
export function buildManifest(lib: Library, sets: ContextSetInfo[]): BundleManifest {
  const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const tasks = new Map<string, BundleManifest['tasks'][number]>();
  const scanners = new Map<string, BundleManifest['scanners'][number]>();
  const volumes = new Map<string, BundleManifest['volumes'][number]>();
  const outSets: BundleManifest['sets'] = [];
  for (const s of [...sets].sort(byName)) {
    tasks.set(s.task.name, {
      name: s.task.name,
      kind: taskWord(s.task.kind),
      structure: s.task.structure,
      labels: s.task.labels,
      ...(s.task.lesion ? { lesion: true as const } : {}),
    });
    const { id: _id, ...scanner } = s.scanner;
    scanners.set(s.scanner.name, scanner);
    for (const p of s.pairs) {
      for (const sha of [p.image.sha256, p.label.sha256]) {
        if (volumes.has(sha)) continue;
        const meta = volumeMeta(lib, sha)!;
        volumes.set(sha, {
          sha256: sha,
          entry: `volumes/${sha}.nii${meta.relPath.endsWith('.gz') ? '.gz' : ''}`,
          bytes: meta.bytes,
          dims: meta.dims,
          spacing: meta.spacing,
          affine: meta.affine,
          datatype: meta.datatype,
        });
      }
    }
    outSets.push({
      name: s.name,
      description: s.description,
      task: s.task.name,
      scanner: s.scanner.name,
      pairs: s.pairs.map((p) => ({
        image: p.image.sha256,
        label: p.label.sha256,
        imageSource: p.imageSource,
        labelSource: p.labelSource,
        addedBy: p.addedBy,
        addedAt: p.addedAt,
      })),
    });
  }
  return {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    tasks: [...tasks.values()].sort(byName),
    scanners: [...scanners.values()].sort(byName),
    sets: outSets,
    volumes: [...volumes.values()].sort((a, b) => (a.sha256 < b.sha256 ? -1 : 1)),
  };
}

/** Writes a deterministic .zip: manifest.json (deflated) first, then the volume files (stored) in hash order. */
export async function exportBundle(lib: Library, out: string, options: ExportOptions = {}): Promise<ExportSummary> {
  const sets = options.set ? [lib.requireSet(options.set)] : lib.listSets();
  if (options.set === undefined && sets.length === 0) throw new InputError(lib.dir, 'the library has no context sets to export');
  const manifest = buildManifest(lib, sets);
  const entries: ZipSource[] = [{ name: MANIFEST_NAME, deflate: true, data: encodeManifest(manifest) }];
  // Volumes are stored, never deflated: .nii.gz gains nothing, and a raw label .nii could deflate
  // past the importer's ratio limit (mostly-zero maps reach ~1000:1), making our own bundle look like a bomb.
  for (const v of manifest.volumes) entries.push({ name: v.entry, deflate: false, file: lib.volumePath(v.sha256) });
  const bytes = await writeZip(out, entries, { overwrite: options.overwrite });
  lib.transaction(() => lib.audit('export-bundle', { file: out, sets: manifest.sets.map((s) => s.name), volumes: manifest.volumes.length, bytes }));
  return { file: out, sets: manifest.sets.length, pairs: manifest.sets.reduce((a, s) => a + s.pairs.length, 0), volumes: manifest.volumes.length, bytes };
}
