#!/usr/bin/env node
// Entry point of `npx neuroverse`; the CLI is compiled to dist/ by `npm run build` (run by the setup script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/main/cli/neuroverse.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('neuroverse: not built yet; run `npm run build` (or scripts/setup.sh) first');
  process.exit(70);
}
// `neuroverse info --json | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
const { runCli, processIo } = await import(entry.href);
process.exitCode = await runCli(process.argv.slice(2), processIo);
