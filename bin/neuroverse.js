#!/usr/bin/env node
// Entry point of `npx neuroverse`; the CLI is compiled to dist/ by `npm run build` (run by the setup script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/main/cli/neuroverse.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('neuroverse: not built yet; run `npm run build` (or scripts/setup.sh) first');
  process.exit(70);
}
const { runCli, processIo } = await import(entry.href);
process.exitCode = await runCli(process.argv.slice(2), processIo);
