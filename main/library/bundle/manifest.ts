import { InputError } from '../../common/errors.js';
import type { Affine } from '../../imaging/index.js';
import type { ScannerInfo } from '../types.js';
import { taskOfWord, type TaskWord } from '../task-word.js';

export const BUNDLE_FORMAT = 'neuroverse-library-bundle';
export const BUNDLE_VERSION = 1;
export const MANIFEST_NAME = 'manifest.json';
/** Volume entries are named by their hash only; nothing else is accepted in a bundle. */
export const VOLUME_ENTRY_RE = /^volumes\/([0-9a-f]{64})\.nii(\.gz)?$/;

/**
 * manifest.json, the first entry of a bundle. Everything is sorted (tasks, scanners, sets by name;
 * volumes by hash; pairs in set order) and no export time or local id is recorded, so exporting the
 * same content twice, or re-exporting an imported bundle, gives identical bytes.
 */
export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  version: number;
  /**
   * `kind` in the library's stored word (task-word.ts), as bundles written by every version carry it. `lesion` only
   * where true: bundles from before lesion tasks read as anatomy, and re-export to the same bytes.
   */
  tasks: Array<{ name: string; kind: TaskWord; structure: string | null; labels: number[]; lesion?: true }>;
  scanners: Array<Omit<ScannerInfo, 'id'>>;
  sets: Array<{
    name: string;
    description: string | null;
    task: string;
    scanner: string;
    pairs: Array<{ image: string; label: string; imageSource: string | null; labelSource: string | null; addedBy: string; addedAt: string }>;
  }>;
  volumes: Array<{ sha256: string; entry: string; bytes: number; dims: number[]; spacing: number[]; affine: Affine; datatype: string }>;
}

export function encodeManifest(m: BundleManifest): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(m, null, 2)}\n`);
}

/** Parses and checks the manifest's shape and internal references; `where` names it in errors. */
export function decodeManifest(bytes: Uint8Array, where: string): BundleManifest {
  let m: BundleManifest;
  try {
    m = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new InputError(where, `manifest is not valid JSON: ${(err as Error).message}`, 'bad-bundle');
  }
  const bad = (problem: string): never => {
    throw new InputError(where, `manifest: ${problem}`, 'bad-bundle');
  };
  if (!m || typeof m !== 'object') bad('not an object');
  if (m.format !== BUNDLE_FORMAT) bad(`format is ${JSON.stringify(m.format)}, not "${BUNDLE_FORMAT}"`);
  if (m.version !== BUNDLE_VERSION) bad(`version ${m.version} is not supported (this app reads version ${BUNDLE_VERSION})`);
  for (const k of ['tasks', 'scanners', 'sets', 'volumes'] as const) if (!Array.isArray(m[k])) bad(`"${k}" must be a list`);
  const str = (v: unknown, what: string) => (typeof v === 'string' && v.length > 0 && v.length <= 4096 ? v : bad(`${what} must be a non-empty string`));
  const optStr = (v: unknown, what: string) => (v === null || typeof v === 'string' ? v : bad(`${what} must be a string or null`));
  const nums = (v: unknown, what: string, len?: number) =>
    Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x)) && (len === undefined || v.length === len)
      ? (v as number[])
      : bad(`${what} must be a list of numbers`);
  const unique = (names: string[], what: string) => {
    if (new Set(names).size !== names.length) bad(`duplicate ${what} names`);
  };
  const tasks = new Set<string>();
  for (const t of m.tasks) {
    str(t?.name, 'task name');
    if (!taskOfWord(t.kind)) bad(`task "${t.name}" kind must be segmentation or generation`);
    optStr(t.structure, `task "${t.name}" structure`);
    if (!nums(t.labels, `task "${t.name}" labels`).every(Number.isInteger)) bad(`task "${t.name}" labels must be integers`);
    if (t.lesion !== undefined && (t.lesion !== true || taskOfWord(t.kind) !== 'segment')) bad(`task "${t.name}" lesion must be true (segmentation) or absent`);
    tasks.add(t.name);
  }
  unique(
    m.tasks.map((t) => t.name),
    'task',
  );
  const scanners = new Set<string>();
  for (const s of m.scanners) {
    str(s?.name, 'scanner name');
    for (const k of ['manufacturer', 'model', 'sequence', 'institution', 'description'] as const) optStr(s[k], `scanner "${s.name}" ${k}`);
    if (s.fieldStrength !== null && (typeof s.fieldStrength !== 'number' || !Number.isFinite(s.fieldStrength)))
      bad(`scanner "${s.name}" fieldStrength must be a number or null`);
    scanners.add(s.name);
  }
  unique(
    m.scanners.map((s) => s.name),
    'scanner',
  );
  const volumes = new Set<string>();
  for (const v of m.volumes) {
    const e = VOLUME_ENTRY_RE.exec(str(v?.entry, 'volume entry'));
    if (!e || e[1] !== v.sha256) bad(`volume entry "${v.entry}" must be volumes/<its sha256>.nii[.gz]`);
    if (!Number.isSafeInteger(v.bytes) || v.bytes < 0) bad(`volume ${v.sha256} bytes must be a non-negative integer`);
    nums(v.dims, `volume ${v.sha256} dims`);
    nums(v.spacing, `volume ${v.sha256} spacing`);
    if (!Array.isArray(v.affine) || v.affine.length !== 4) bad(`volume ${v.sha256} affine must be 4×4`);
    v.affine.forEach((row) => nums(row, `volume ${v.sha256} affine row`, 4));
    str(v.datatype, `volume ${v.sha256} datatype`);
    volumes.add(v.sha256);
  }
  unique(
    m.volumes.map((v) => v.sha256),
    'volume',
  );
  for (const s of m.sets) {
    str(s?.name, 'set name');
    optStr(s.description, `set "${s.name}" description`);
    if (!tasks.has(s.task)) bad(`set "${s.name}" refers to task "${s.task}", which is not in the bundle`);
    if (!scanners.has(s.scanner)) bad(`set "${s.name}" refers to scanner "${s.scanner}", which is not in the bundle`);
    if (!Array.isArray(s.pairs)) bad(`set "${s.name}" pairs must be a list`);
    for (const p of s.pairs) {
      for (const k of ['image', 'label'] as const)
        if (!volumes.has(p?.[k])) bad(`a pair of set "${s.name}" refers to volume ${JSON.stringify(p?.[k])}, which is not in the bundle`);
      optStr(p.imageSource, 'imageSource');
      optStr(p.labelSource, 'labelSource');
      str(p.addedBy, 'addedBy');
      str(p.addedAt, 'addedAt');
    }
  }
  unique(
    m.sets.map((s) => s.name),
    'set',
  );
  // A volume no pair uses would sit in the library unreferenced (and be deleted by the next trash empty).
  const used = new Set(m.sets.flatMap((s) => s.pairs.flatMap((p) => [p.image, p.label])));
  for (const v of m.volumes) if (!used.has(v.sha256)) bad(`volume ${v.sha256} is used by no pair`);
  return m;
}

/** Why an entry name is unsafe to extract anywhere, or null. Checked before anything else. */
export function unsafeEntryName(name: string): string | null {
  if (name.includes('\\')) return 'contains a backslash';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'is an absolute path';
  if (name.split('/').some((seg) => seg === '..')) return 'climbs out of the bundle ("..")';
  if (/[\u0000-\u001f]/.test(name)) return 'contains control characters';
  return null;
}
