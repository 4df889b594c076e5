import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CancelledError, InputError } from '../common/errors.js';
import { defaultDataDir } from '../settings/paths.js';
import type { CliIo } from './command.js';
import { commands } from './commands/index.js';

/** `neuroverse <command> ...`: the headless front end over the same services as the app. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out('usage: neuroverse <command> [options]\n');
    for (const c of commands) io.out(`  ${c.name.padEnd(10)} ${c.summary}`);
    io.out('\nneuroverse <command> --help shows the options of one command.');
    io.out('exit codes: 0 done, 1 bad input (one line naming the file and the problem), 2 usage, 70 internal error');
    io.out('(one line, the stack written to a log file it names), 130 cancelled.');
    return name ? 0 : 2;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.err(`neuroverse: unknown command "${name}" (try neuroverse --help)`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof InputError) {
      io.err(`neuroverse ${name}: ${err.message}`);
      if (err.code === 'usage') io.err(command.usage);
      return err.code === 'usage' ? 2 : 1;
    }
    if (err instanceof CancelledError) {
      io.err(`neuroverse ${name}: ${err.message}`);
      return 130;
    }
    const message = String((err as Error)?.message ?? err).split('\n')[0];
    const log = writeCrashLog(name, err);
    io.err(`neuroverse ${name}: internal error: ${message}${log ? ` (details in ${log})` : ''}`);
    return 70;
  }
}

/** The stack of an internal error, for a bug report; the user sees one line. Null when it cannot be written. */
function writeCrashLog(command: string, err: unknown): string | null {
  try {
    const dir = join(defaultDataDir(), 'logs');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `cli-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
    writeFileSync(file, `neuroverse ${command}\n${(err as Error)?.stack ?? String(err)}\n`);
    return file;
  } catch {
    return null;
  }
}

export const processIo: CliIo = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
  interactive: Boolean(process.stderr.isTTY),
};
