import { CancelledError, InputError } from '../common/errors.js';
import type { CliIo } from './command.js';
import { commands } from './commands/index.js';

/** `neuroverse <command> ...`: the headless front end over the same services as the app. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out('usage: neuroverse <command> [options]\n');
    for (const c of commands) io.out(`  ${c.name.padEnd(10)} ${c.summary}`);
    io.out('\nneuroverse <command> --help shows the options of one command.');
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
    io.err(`neuroverse ${name}: internal error: ${(err as Error).stack ?? err}`);
    return 70;
  }
}

export const processIo: CliIo = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
  interactive: Boolean(process.stderr.isTTY),
};
