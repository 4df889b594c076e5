import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT } from '../helpers/cli.js';

/**
 * A real Orthanc (Debian package) inside a private network namespace that has only loopback: Orthanc
 * 1.10 cannot bind to 127.0.0.1 alone, and the namespace guarantees nothing outside can reach it.
 * Clients (our CLI) run in the same namespace through nsenter. Both processes are stopped by PID.
 */
export interface OrthancInNamespace {
  aeTitle: string;
  port: number;
  /** Runs `node bin/neuroverse.js ...` (or `node <script> ...` with `script`) inside the namespace. */
  neuroverse(args: string[], env?: NodeJS.ProcessEnv, script?: string[]): { code: number | null; stdout: string; stderr: string };
  /** The Orthanc log so far, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

function need(cmd: string, pkg: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} not found: install ${pkg} (scripts/setup.sh --with-test-deps installs it)`);
  return r.stdout.trim();
}

export async function startOrthanc(dir: string, local: { aeTitle: string; port: number }): Promise<OrthancInNamespace> {
  const orthancBin = need('Orthanc', 'the Debian package orthanc');
  need('unshare', 'util-linux');
  need('nsenter', 'util-linux');
  const ip = need('ip', 'iproute2');
  const probe = spawnSync('unshare', ['-n', 'true'], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(`cannot create a network namespace (unshare -n: ${probe.stderr.trim()}); the PACS tests need root or CAP_SYS_ADMIN`);

  const aeTitle = 'ORTHANC';
  const port = 4242;
  const storage = join(dir, 'orthanc-storage');
  mkdirSync(storage, { recursive: true });
  const config = join(dir, 'orthanc.json');
  writeFileSync(
    config,
    JSON.stringify({
      Name: 'NeuroverseTestPACS',
      StorageDirectory: storage,
      IndexDirectory: storage,
      HttpServerEnabled: false,
      RemoteAccessAllowed: false,
      DicomServerEnabled: true,
      DicomAet: aeTitle,
      DicomPort: port,
      DicomCheckCalledAet: true,
      DicomCheckModalityHost: true,
      DicomAlwaysAllowEcho: false,
      DicomAlwaysAllowStore: false,
      DicomModalities: { neuroverse: [local.aeTitle, '127.0.0.1', local.port] },
      Plugins: [],
      ConcurrentJobs: 1,
    }),
  );

  const ns: ChildProcess = spawn('unshare', ['-n', 'sleep', '100000'], { stdio: 'ignore' });
  await new Promise((r) => ns.once('spawn', r));
  const nsPid = String(ns.pid);
  const up = spawnSync('nsenter', ['-t', nsPid, '-n', ip, 'link', 'set', 'lo', 'up'], { encoding: 'utf8' });
  if (up.status !== 0) {
    ns.kill('SIGKILL');
    throw new Error(`could not bring up loopback in the namespace: ${up.stderr}`);
  }
  // nsenter without --fork execs Orthanc in place, so this PID is Orthanc's.
  const orthanc = spawn('nsenter', ['-t', nsPid, '-n', orthancBin, config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  orthanc.stdout!.on('data', (d) => (log += d));
  orthanc.stderr!.on('data', (d) => (log += d));
  let exited = false;
  orthanc.once('exit', () => (exited = true));

  const handle: OrthancInNamespace = {
    aeTitle,
    port,
    neuroverse(args, env = {}, script) {
      const entry = script ?? [resolve(ROOT, 'bin/neuroverse.js'), ...args];
      const r = spawnSync('nsenter', ['-t', nsPid, '-n', process.execPath, ...entry], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, ...env },
        maxBuffer: 64 << 20,
      });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    log: () => log,
    async stop() {
      if (!exited) {
        orthanc.kill('SIGTERM');
        await new Promise((r) => (exited ? r(null) : orthanc.once('exit', r)));
      }
      ns.kill('SIGKILL');
    },
  };

  // Readiness: Orthanc answers a C-ECHO from the configured modality once its DICOM server is up.
  // Generous cap: on a loaded 2-core machine Orthanc's first start (SQLite index) can take a while.
  for (let i = 0; i < 480 && !exited; i++) {
    const r = spawnSync('nsenter', ['-t', nsPid, '-n', 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`], { encoding: 'utf8' });
    if (r.status === 0) return handle;
    await new Promise((res) => setTimeout(res, 250));
  }
  await handle.stop();
  throw new Error(`Orthanc did not start: ${log.slice(-2000)}`);
}
