import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * Path of the Electron binary, or why there is none. The npm package returns the path only when its
 * postinstall download succeeded; on machines without access to the download it throws.
 */
export function findElectron(): { path: string } | { reason: string } {
  try {
    const require = createRequire(import.meta.url);
    const p = require('electron') as unknown;
    if (typeof p === 'string' && existsSync(p)) return { path: p };
    return { reason: 'the electron package has no binary' };
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0];
    return { reason: `Electron binary not installed (${msg})` };
  }
}
