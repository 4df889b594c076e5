/** One sub-command of the `neuroverse` CLI. Each lives in its own file under ./commands/. */
export interface CliCommand {
  name: string;
  /** One line for `neuroverse --help`. */
  summary: string;
  /** Full usage text for `neuroverse <name> --help`. */
  usage: string;
  /** Returns the process exit code. Throw InputError for bad input: the CLI prints it on one line. */
  run(argv: string[], io: CliIo): Promise<number>;
}

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** True when stderr is a terminal, so progress can redraw one line. */
  interactive: boolean;
}
