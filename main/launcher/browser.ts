import { spawn, type ChildProcess } from 'node:child_process';

// Also used by the report's PDF printing (export/pdf.ts), so it lives in util/.
export { findChromium } from '../util/chromium.js';

export function hasDisplay(env: NodeJS.ProcessEnv = process.env): boolean {
  if (process.platform !== 'linux') return true;
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

/**
 * Chromium in app mode (a window with no tabs or address bar), with its own profile so it never mixes
 * with the user's browsing, and with background networking off: nothing leaves the machine.
 */
export function openAppWindow(browser: string, url: string, profileDir: string): ChildProcess {
  const args = [
    `--app=${url}`,
    `--user-data-dir=${profileDir}`,
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
    '--window-size=1400,900',
    // Without a usable GPU (remote desktops, VMs) Chromium no longer falls back to software WebGL on
    // its own; this allows that fallback. The "unsafe" is about untrusted pages, and this window only
    // ever shows the app's own page.
    '--enable-unsafe-swiftshader',
  ];
  // Chromium refuses to start as root unless its sandbox is off (containers, CI, kiosk installs);
  // the window shows only this app's own page, served from 127.0.0.1.
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  return spawn(browser, args, { stdio: 'ignore', detached: false });
}
