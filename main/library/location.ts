import { join, resolve } from 'node:path';
import { defaultDataDir } from '../settings/paths.js';

/**
 * Where the library lives: `--library DIR` first, then $NEUROVERSE_LIBRARY, then `<data dir>/library`
 * (XDG_DATA_HOME on Linux, Application Support on macOS, %APPDATA% on Windows; see defaultDataDir).
 */
export function libraryDir(explicit?: string, env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (explicit) return resolve(explicit);
  if (env.NEUROVERSE_LIBRARY) return resolve(env.NEUROVERSE_LIBRARY);
  return join(defaultDataDir(env, platform), 'library');
}
