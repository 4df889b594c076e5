/**
 * Why compute runs in worker threads and not in a separate process (issue 13: "a utilityProcess or worker
 * threads, your measured choice"). Electron's utilityProcess cannot run here (no Electron binary); Node's
 * child_process.fork with 'advanced' serialization is the same kind of channel (a process, messages copied
 * through a pipe, no transferable buffers). Times: start to first answer, and a round trip of one 256³ float32
 * volume (64 MiB, what a target or a result is) there and back.
 *   node dist-scripts/bench/compute-transport.js [--rounds 5]
 */
import { fork } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';

const N = 256 ** 3;
const self = fileURLToPath(import.meta.url);

// The echo side: a worker thread (parentPort) or a forked process (process.send) sends back what it got.
if (!isMainThread) {
  parentPort!.on('message', (m: Float32Array | 'ping') => parentPort!.postMessage(m, m === 'ping' ? [] : [m.buffer as ArrayBuffer]));
} else if (process.argv[2] === 'child') {
  process.on('message', (m) => process.send!(m));
} else {
  const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1] || 5);
  const rows: { channel: string; startMs: number; roundTripMs: number[] }[] = [];

  const t0 = performance.now();
  const w = new Worker(self);
  await new Promise((r) => (w.once('message', r), w.postMessage('ping')));
  const threadStart = performance.now() - t0;
  const threadTrips: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const v = new Float32Array(N).fill(i);
    const t = performance.now();
    await new Promise((r) => (w.once('message', r), w.postMessage(v, [v.buffer])));
    threadTrips.push(performance.now() - t);
  }
  await w.terminate();
  rows.push({ channel: 'worker thread, buffer transferred', startMs: threadStart, roundTripMs: threadTrips });

  const t1 = performance.now();
  const c = fork(self, ['child'], { serialization: 'advanced' });
  await new Promise((r) => (c.once('message', r), c.send('ping')));
  const processStart = performance.now() - t1;
  const processTrips: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const v = new Float32Array(N).fill(i);
    const t = performance.now();
    await new Promise((r) => (c.once('message', r), c.send(v)));
    processTrips.push(performance.now() - t);
  }
  c.kill();
  rows.push({ channel: 'child process (fork, advanced serialization): copied both ways', startMs: processStart, roundTripMs: processTrips });

  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model}, load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}, node ${process.version}`,
  );
  console.log('| channel | start to first answer ms | 64 MiB round trip ms (each round) |\n|---|---|---|');
  for (const r of rows) console.log(`| ${r.channel} | ${r.startMs.toFixed(0)} | ${r.roundTripMs.map((x) => x.toFixed(0)).join(', ')} |`);
}
