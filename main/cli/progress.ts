import type { CliIo } from './command.js';

/** Progress on stderr: one redrawn line on a terminal, nothing when piped (keeps logs and --json clean). */
export function cliProgress(io: CliIo) {
  let last = '';
  return {
    report(stage: string, fraction: number | null, message: string) {
      if (!io.interactive) return;
      const pct = fraction === null ? '' : ` ${Math.round(fraction * 100)}%`;
      const line = `${stage}${pct} ${message}`.slice(0, 100);
      if (line !== last) process.stderr.write(`\r\x1b[K${line}`);
      last = line;
    },
    done() {
      if (io.interactive && last) process.stderr.write('\r\x1b[K');
    },
  };
}
