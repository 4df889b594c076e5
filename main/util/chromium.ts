import { existsSync } from 'node:fs';

const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
];

/** The Chromium (or Chrome) to use: $NEUROVERSE_BROWSER when set (and present), else the first installed candidate. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.NEUROVERSE_BROWSER) return existsSync(env.NEUROVERSE_BROWSER) ? env.NEUROVERSE_BROWSER : null;
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}
