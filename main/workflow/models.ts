import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError } from '../common/errors.js';
import type { Task } from '../common/task.js';
import { readManifest } from '../engine/index.js';
import type { ModelInfo } from './types.js';

export interface ModelPlace {
  dir: string;
  origin: ModelInfo['origin'];
}

/**
 * Where model packages are looked up, in this order: $NEUROVERSE_MODELS (a folder of packages),
 * <dataDir>/models (models the user installed), <resources>/models (the bundled default).
 */
export function modelPlaces(dataDir: string, resources: string, env: NodeJS.ProcessEnv = process.env): ModelPlace[] {
  const places: ModelPlace[] = [];
  if (env.NEUROVERSE_MODELS) places.push({ dir: resolve(env.NEUROVERSE_MODELS), origin: 'env' });
  places.push({ dir: join(dataDir, 'models'), origin: 'data' }, { dir: join(resources, 'models'), origin: 'resources' });
  return places;
}

export interface FoundModel extends ModelInfo {
  dir: string;
}

/**
 * Every readable package in the search places; a folder id found earlier hides a later one with the same
 * id (so a user's model can shadow the bundled default). Unreadable folders are skipped: one broken
 * package must not hide the others.
 */
export async function findModels(places: ModelPlace[]): Promise<FoundModel[]> {
  const found: FoundModel[] = [];
  const seen = new Set<string>();
  for (const place of places) {
    const entries = await readdir(place.dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
      if (seen.has(e.name)) continue;
      const dir = join(place.dir, e.name);
      const manifest = await readManifest(dir).catch(() => null);
      if (!manifest) continue;
      seen.add(e.name);
      const evaluation = isObject(manifest.evaluation) ? (manifest.evaluation as ModelInfo['evaluation']) : null;
      found.push({
        id: e.name,
        name: manifest.name,
        tasks: manifest.tasks,
        grid: manifest.grid,
        precisions: manifest.int8 ? ['fp32', 'int8'] : ['fp32'],
        origin: place.origin,
        evaluation,
        dir,
      });
    }
  }
  return found;
}

/** The model to use: by id, else the first that can do `task`. */
export function pickModel(models: FoundModel[], id: string | undefined, task: Task): FoundModel {
  if (id) {
    const m = models.find((x) => x.id === id);
    if (!m) throw new InputError(undefined, `no model "${id}" (installed: ${models.map((x) => x.id).join(', ') || 'none'})`, 'not-found');
    return m;
  }
  const m = models.find((x) => x.tasks.includes(task));
  if (!m) {
    throw new InputError(
      undefined,
      `no model package for task "${task}" is installed (looked in $NEUROVERSE_MODELS, <data folder>/models and the bundled resources/models)`,
      'no-model',
    );
  }
  return m;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
