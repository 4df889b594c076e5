import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../../common/errors.js';
import { GRAPH_ROLES, MANIFEST_FILE, validateManifest } from './manifest.js';
import type { GraphEntries, GraphRole, Manifest } from './manifest.js';

export interface LoadedModelPackage {
  dir: string;
  manifest: Manifest;
  /** Graph bytes exactly as hashed, handed to ORT from memory so what runs is what was checked. */
  graphs: Record<GraphRole, Uint8Array>;
  /** The int8 variant's graphs, where the manifest lists one. */
  int8Graphs?: Record<GraphRole, Uint8Array>;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function readManifest(dir: string): Promise<Manifest> {
  const s = await stat(dir).catch(() => undefined);
  if (!s) throw new InputError(dir, 'model folder does not exist', 'bad-model');
  if (!s.isDirectory()) throw new InputError(dir, 'not a model folder (expected a directory with manifest.json)', 'bad-model');
  const file = join(dir, MANIFEST_FILE);
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) throw new InputError(dir, `not a model folder (no ${MANIFEST_FILE})`, 'bad-model');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InputError(file, 'manifest is not valid JSON', 'bad-model');
  }
  return validateManifest(parsed, file);
}

/** Reads a model folder and verifies every graph (fp32, and int8 where present) against its manifest sha256. */
export async function loadModelPackage(dir: string): Promise<LoadedModelPackage> {
  const manifest = await readManifest(dir);
  return {
    dir,
    manifest,
    graphs: await readGraphs(dir, manifest.graphs),
    ...(manifest.int8 ? { int8Graphs: await readGraphs(dir, manifest.int8.graphs) } : {}),
  };
}

async function readGraphs(dir: string, entries: GraphEntries): Promise<Record<GraphRole, Uint8Array>> {
  const graphs = {} as Record<GraphRole, Uint8Array>;
  for (const role of GRAPH_ROLES) {
    const entry = entries[role];
    const file = join(dir, entry.file);
    const bytes = await readFile(file).catch(() => undefined);
    if (!bytes) throw new InputError(file, `graph file listed in ${MANIFEST_FILE} is missing`, 'bad-model');
    const actual = sha256Hex(bytes);
    if (actual !== entry.sha256) {
      throw new InputError(
        file,
        `sha256 mismatch: manifest says ${entry.sha256.slice(0, 12)}…, file is ${actual.slice(0, 12)}… (corrupted or modified)`,
        'bad-model',
      );
    }
    graphs[role] = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return graphs;
}
