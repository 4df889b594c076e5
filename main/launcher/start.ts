import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createWorkstation } from '../api/handlers.js';
import { startBrowserHost } from '../host/server.js';
import { defaultDataDir, projectRoot } from '../settings/paths.js';
import { findChromium, hasDisplay, openAppWindow } from './browser.js';
import { findElectron } from './electron-binary.js';
import { appVersion } from '../settings/version.js';

/**
 * `npm start [file-or-dicom-folder] [--browser] [--no-window]`: Electron where its binary exists,
 * otherwise the browser host in Chromium's app mode, otherwise the browser host with its URL printed.
 * Opens the given scan, or the bundled Colin27 sample, so the first screen shows an image.
 */
async function main(argv: string[]) {
  const forceBrowser = argv.includes('--browser');
  const noWindow = argv.includes('--no-window');
  const target = argv.find((a) => !a.startsWith('--'));
  const root = projectRoot();

  const electron = findElectron();
  if (!forceBrowser && 'path' in electron) {
    console.log(`neuroverse: mode electron (binary found at ${electron.path})`);
    const child = spawn(electron.path, [join(root, 'dist', 'app', 'main.js'), ...argv], { stdio: 'inherit' });
    child.on('exit', (code) => process.exit(code ?? 0));
    return;
  }
  const why = forceBrowser ? '--browser was given' : (electron as { reason: string }).reason;

  const started = performance.now();
  const ws = createWorkstation({
    mode: 'browser',
    version: appVersion(),
    onFirstFrame: (ms) =>
      console.log(
        `neuroverse: first frame drawn ${((performance.now() - started) / 1000).toFixed(1)} s after start (${(ms / 1000).toFixed(1)} s after page load)`,
      ),
  });
  if (target) {
    const r = await ws.openPath(target);
    if (r.kind === 'choose-series') console.log(`neuroverse: ${target} holds ${r.series.length} series; pick one in the window`);
  } else await ws.api.openSample();
  const host = await startBrowserHost(ws, join(root, 'dist', 'renderer'), Number(process.env.NEUROVERSE_PORT ?? 0));
  const browser = findChromium();
  if (noWindow || !browser || !hasDisplay()) {
    const reason = noWindow ? '--no-window was given' : !browser ? 'no Chromium or Chrome found' : 'no display (DISPLAY is unset)';
    console.log(`neuroverse: mode browser host (${why}); not opening a window: ${reason}`);
    console.log(`neuroverse: open ${host.appUrl}`);
  } else {
    console.log(`neuroverse: mode browser host in Chromium app mode (${why})`);
    const opened = performance.now();
    // Chromium's command line is readable by every local user: it gets a one-time code, not the token.
    const child = openAppWindow(browser, host.launchUrl(), join(defaultDataDir(), 'browser-profile'));
    child.on('exit', async (code) => {
      // A browser that dies at once could not open a window (no usable display): keep serving, say where.
      if (code !== 0 && performance.now() - opened < 10_000) {
        console.log(`neuroverse: Chromium could not open a window (exit code ${code}); open ${host.appUrl}`);
        return;
      }
      await host.close();
      process.exit(0);
    });
  }
  const stop = async () => {
    await host.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((err) => {
  console.error(`neuroverse: ${(err as Error).message}`);
  process.exit(1);
});
