// Measures the time from `npm start` (browser-host mode) to the first frame the renderer draws, with
// Debian's Chromium standing in for the user's window. A benchmark, not a test: it prints numbers.
//   node scripts/bench/startup.mjs [runs]
import { chromium } from '@playwright/test';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const runs = Number(process.argv[2] ?? 3);
const browser = await chromium.launch({
  executablePath: process.env.NEUROVERSE_CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--use-angle=swiftshader',
    '--enable-unsafe-swiftshader',
  ],
});
for (let r = 0; r < runs; r++) {
  const dataDir = mkdtempSync(join(tmpdir(), 'neuroverse-startup-'));
  const t0 = performance.now();
  const child = spawn(process.execPath, ['dist/main/launcher/start.js', '--browser', '--no-window'], {
    env: { ...process.env, NEUROVERSE_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const url = await new Promise((ok) =>
    child.stdout.on('data', (b) => {
      out += b;
      const m = /open (http:\/\/\S+)/.exec(out);
      if (m) ok(m[1]);
    }),
  );
  const tUrl = performance.now();
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(url);
  await new Promise((ok) => {
    const check = () => (/first frame drawn/.test(out) ? ok() : setTimeout(check, 20));
    check();
  });
  const tFrame = performance.now();
  console.log(
    `run ${r + 1}: host ready ${((tUrl - t0) / 1000).toFixed(1)} s, first frame ${((tFrame - t0) / 1000).toFixed(1)} s after start — ${/first frame drawn[^\n]*/.exec(out)[0]}`,
  );
  await page.close();
  child.kill('SIGTERM');
  await new Promise((ok) => child.once('exit', ok));
  rmSync(dataDir, { recursive: true, force: true });
}
await browser.close();
