import type { ComputePool } from '../compute/pool.js';
import { Library, libraryDir } from '../library/index.js';
import { ensureStarterSet, starterSetName, starterSource } from '../library/starter.js';
import { workerRunner } from '../pipeline/model-runner.js';
import { RegistrationCache, registrationPool, type RegistrationJobs } from '../registration/index.js';
import { registrationCacheDir } from '../settings/paths.js';
import { restorationPool } from '../restoration/pool.js';
import type { RestorationJobs } from '../restoration/runner.js';
import { findModels, modelPlaces } from './models.js';
import type { RunProgress, RunServices } from './orchestrate-run.js';

export interface StandaloneOptions {
  dataDir: string;
  resources: string;
  /** Library folder (default $NEUROVERSE_LIBRARY, else <data dir>/library). */
  library?: string;
  /** Registration workers (default: one per core, as memory allows). */
  workers?: number;
  onProgress?(p: RunProgress): void;
  signal?: AbortSignal;
}

/**
 * The services of runs outside the app (a `neuroverse run`, each scan of a batch): the library opened on first
 * use, models looked up as the app does, the model and the registration workers started when a run needs them
 * and kept for the next run until close().
 */
export function standaloneRunServices(o: StandaloneOptions): RunServices & { close(): Promise<void> } {
  let library: Promise<Library> | null = null;
  let pool: ComputePool<RegistrationJobs> | null = null;
  let restoring: ComputePool<RestorationJobs> | null = null;
  const engines = new Map<string, ReturnType<typeof workerRunner>>();
  return {
    // The bundled starter set goes into the library on its first open, as in the app (library/starter.ts).
    library: () =>
      (library ??= Library.open(libraryDir(o.library)).then(async (lib) => {
        const starter = starterSource(o.resources);
        if (starter) await ensureStarterSet(lib, starter);
        return lib;
      })),
    starterSet: starterSetName(o.resources),
    models: () => findModels(modelPlaces(o.dataDir, o.resources)),
    // The model runs in a compute worker (pipeline/model-runner.ts), as in the app; one per model and device.
    openModel: (dir, device, precision) => {
      const key = `${dir}\0${device}\0${precision}`;
      let e = engines.get(key);
      if (!e) {
        e = workerRunner(dir, device, precision);
        // A failed start is not kept: the next run tries again and reports its own error.
        e.catch(() => engines.delete(key));
        engines.set(key, e);
      }
      return e;
    },
    pool: () => (pool ??= registrationPool(o.workers)),
    restorationPool: () => (restoring ??= restorationPool(o.workers)),
    cache: new RegistrationCache(registrationCacheDir(o.dataDir)),
    onProgress: o.onProgress,
    signal: o.signal,
    async close() {
      const lib = library;
      library = null;
      if (lib) (await lib.catch(() => null))?.close();
      for (const e of engines.values()) await (await e.catch(() => null))?.close();
      engines.clear();
      await pool?.close();
      pool = null;
      await restoring?.close();
      restoring = null;
    },
  };
}
