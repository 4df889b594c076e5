/**
 * Electron shell: one window, the menu, and IPC wired to the same handler table the browser host uses.
 * Thin by design: all behaviour lives in main/ (plain Node) so the CLI and the browser host share it.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, net, protocol, session } from 'electron';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { toErrorPayload } from '../main/api/errors.js';
import { createWorkstation } from '../main/api/handlers.js';
import { dispatch } from '../main/api/methods.js';
import { CONTENT_SECURITY_POLICY } from '../main/host/server.js';
import { rendererFile } from '../main/host/renderer-file.js';
import { appVersion } from '../main/settings/version.js';
import { projectRoot } from '../main/settings/paths.js';
import { buildMenu } from './menu.js';

// A packaged app keeps the sample and models beside the asar archive (electron-builder extraResources).
if (app.isPackaged) process.env.NEUROVERSE_RESOURCES ??= join(process.resourcesPath, 'resources');
const root = projectRoot();
const rendererDir = resolve(root, 'dist', 'renderer');

// A custom scheme instead of file:// so that 'self' in the CSP means exactly the app's own files.
protocol.registerSchemesAsPrivileged([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

let window: BrowserWindow | null = null;

const ws = createWorkstation({
  mode: 'electron',
  version: appVersion(),
  pickPath: async () => {
    const r = await dialog.showOpenDialog(window!, {
      title: 'Open a scan',
      properties: ['openFile', 'openDirectory'],
      filters: [{ name: 'NIfTI or DICOM', extensions: ['nii', 'gz', 'dcm', '*'] }],
    });
    return r.canceled || r.filePaths.length === 0 ? null : r.filePaths[0];
  },
  onFirstFrame: (ms) => console.log(`neuroverse: first frame drawn ${(ms / 1000).toFixed(1)} s after page load`),
});

ws.onEvent((e) => window?.webContents.send('neuroverse:event', e));

ipcMain.handle('neuroverse:call', async (event, method: string, args: unknown[]) => {
  // Only the app's own page may call the API.
  if (!event.senderFrame?.url.startsWith('app://renderer/')) return { ok: false, error: { name: 'Error', message: 'forbidden' } };
  try {
    return { ok: true, value: await dispatch(ws.api, method, args) };
  } catch (err) {
    return { ok: false, error: toErrorPayload(err) };
  }
});

async function createWindow() {
  protocol.handle('app', async (request) => {
    const url = new URL(request.url);
    const file = rendererFile(rendererDir, url.pathname);
    if (!file) return new Response('not found', { status: 404 });
    // The CSP rides on the protocol's own responses: webRequest hooks do not see custom-scheme responses.
    const res = await net.fetch(pathToFileURL(file).href);
    const headers = new Headers(res.headers);
    headers.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    headers.set('X-Content-Type-Options', 'nosniff');
    return new Response(res.body, { status: res.status, headers });
  });
  // Nothing leaves the machine: the renderer may not open other sites or ask for permissions.
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  window = new BrowserWindow({
    width: 1400,
    height: 900,
    title: 'Neuroverse Workstation',
    webPreferences: {
      preload: join(root, 'dist', 'app', 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  Menu.setApplicationMenu(buildMenu(ws, () => window));
  await window.loadURL('app://renderer/index.html');
}

void app
  .whenReady()
  .then(async () => {
    const target = process.argv.slice(2).find((a) => !a.startsWith('-') && !a.endsWith('main.js'));
    if (target) await ws.openPath(target).catch((e) => console.error(`neuroverse: ${(e as Error).message}`));
    else await ws.api.openSample();
    await createWindow();
  })
  // A start-up that fails (no window could be made, the sample is missing) must say why and end, not hang.
  .catch((e) => {
    console.error(`neuroverse: could not start: ${(e as Error).message}`);
    app.exit(1);
  });

// Every web contents (the window, and anything a compromised page might create) is denied new windows,
// navigation, redirects and embedded webviews: the app's page is the only page.
app.on('web-contents-created', (_event, contents) => {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (e) => e.preventDefault());
  contents.on('will-redirect', (e) => e.preventDefault());
  contents.on('will-attach-webview', (e) => e.preventDefault());
});

app.on('window-all-closed', () => app.quit());
