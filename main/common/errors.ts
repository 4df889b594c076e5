/**
 * The one error type the user sees. Every service throws it for bad input so that the CLI, the
 * browser host and the Electron shell can print the same one-line message: the file, then the problem.
 */
export class InputError extends Error {
  readonly file: string | undefined;
  readonly problem: string;
  readonly code: string;

  constructor(file: string | undefined, problem: string, code = 'bad-input') {
    super(file ? `${file}: ${problem}` : problem);
    this.name = 'InputError';
    this.file = file;
    this.problem = problem;
    this.code = code;
  }
}

/** Thrown when a long job is cancelled by the user; not an error to report as a failure. */
export class CancelledError extends Error {
  constructor(what = 'operation') {
    super(`${what} cancelled`);
    this.name = 'CancelledError';
  }
}

export interface ErrorPayload {
  name: string;
  message: string;
  file?: string;
  problem?: string;
  code?: string;
}

export function toErrorPayload(err: unknown): ErrorPayload {
  if (err instanceof InputError) {
    return { name: err.name, message: err.message, file: err.file, problem: err.problem, code: err.code };
  }
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}

/** Rebuilds an error on the client side of a transport so `instanceof InputError` keeps working. */
export function fromErrorPayload(p: ErrorPayload): Error {
  if (p.name === 'InputError') return new InputError(p.file, p.problem ?? p.message, p.code);
  if (p.name === 'CancelledError') return new CancelledError(p.message.replace(/ cancelled$/, ''));
  const e = new Error(p.message);
  e.name = p.name;
  return e;
}

/** A file-system failure in the user's words (the path is said by the caller). */
export function fileProblem(err: unknown): string {
  const code = (err as { code?: string } | null)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a folder, not a file';
  return (err as Error)?.message ?? String(err);
}
