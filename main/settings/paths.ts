import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const APP_ID = 'neuroverse-workstation';

/**
 * Where the app keeps its own files (recent list, imported copies, later the context library), by
 * each platform's convention; NEUROVERSE_DATA_DIR overrides it (tests, portable installs).
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env.NEUROVERSE_DATA_DIR) return resolve(env.NEUROVERSE_DATA_DIR);
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Neuroverse Workstation');
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Neuroverse Workstation');
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), APP_ID);
}

/** The project root (package.json, dist/), found from this file whether run from source, dist/ or an asar. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'dist'))) return dir;
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'resources'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find the project root (a folder with package.json)');
}

export function resourcesDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.NEUROVERSE_RESOURCES ? resolve(env.NEUROVERSE_RESOURCES) : join(projectRoot(), 'resources');
}

export function sampleFiles(resources = resourcesDir()) {
  return {
    t1: join(resources, 'sample', 'colin27_t1.nii.gz'),
    labels: join(resources, 'sample', 'colin27_aal.nii.gz'),
    brain: join(resources, 'sample', 'colin27_t1_brain.nii.gz'),
  };
}

/** Aligned context pairs (registration results), a bounded cache: deleting it only costs time. */
export function registrationCacheDir(dataDir: string): string {
  return join(dataDir, 'cache', 'registration');
}
