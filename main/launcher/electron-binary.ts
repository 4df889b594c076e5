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
    // The package throws "Electron failed to install correctly" when its download never happened.
    const msg = (err as Error).message.split('\n')[0];
    const why = /failed to install/i.test(msg) ? 'its download was skipped or unreachable at install time' : msg;
    return { reason: `Electron binary not installed: ${why}` };
  }
}
