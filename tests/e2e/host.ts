import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface RunningHost {
  url: string;
  process: ChildProcess;
  output: string[];
  dataDir: string;
  stop(): Promise<void>;
}

const ROOT = resolve(import.meta.dirname, '../..');

export interface HostOptions {
  /** Reuse this data folder (a "restart"); the caller owns it and stop() leaves it in place. */
  dataDir?: string;
  /** Extra environment, e.g. NEUROVERSE_MODELS. */
  env?: Record<string, string>;
}

/** Starts the app the way `npm start` does, forced into browser-host mode without a window. */
export async function startHost(args: string[] = [], options: HostOptions = {}): Promise<RunningHost> {
  const ownDataDir = !options.dataDir;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'neuroverse-e2e-'));
  const child = spawn(process.execPath, [join(ROOT, 'dist/main/launcher/start.js'), '--browser', '--no-window', ...args], {
    cwd: ROOT,
    // These tests build their own libraries: no bundled starter set beside them (NEUROVERSE_STARTER=off).
    env: { NEUROVERSE_STARTER: 'off', ...process.env, ...options.env, NEUROVERSE_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`host did not print its URL:\n${output.join('')}`)), 60_000);
    const onData = (b: Buffer) => {
      output.push(b.toString());
      const m = /open (http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]+)/.exec(output.join(''));
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (b: Buffer) => output.push(b.toString()));
    child.on('exit', (code) => fail(new Error(`host exited with ${code}:\n${output.join('')}`)));
  });
  return {
    url,
    process: child,
    output,
    dataDir,
    stop: async () => {
      child.kill('SIGTERM');
      if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
      if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
