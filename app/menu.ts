import { Menu, type BrowserWindow, type MenuItemConstructorOptions } from 'electron';
import type { Workstation } from '../main/api/handlers.js';
import type { MenuAction } from '../main/api/menu.js';

/**
 * File menu. Menu actions run in the main process and tell the renderer what changed through the same
 * event channel as API progress, so the renderer has one way to learn about new volumes.
 */
export function buildMenu(ws: Workstation, win: () => BrowserWindow | null): Menu {
  const send = (action: MenuAction) => win()?.webContents.send('neuroverse:menu', action);
  const template: MenuItemConstructorOptions[] = [
    {
      label: 'File',
      submenu: [
        { label: 'Open…', accelerator: 'CmdOrCtrl+O', click: () => send('open') },
        { label: 'Open Overlay…', accelerator: 'CmdOrCtrl+Shift+O', click: () => send('open-overlay') },
        { label: 'Open Sample', click: () => send('open-sample') },
        { type: 'separator' },
        { role: 'quit' },
      ],
    },
    { label: 'View', submenu: [{ role: 'reload' }, { role: 'toggleDevTools' }, { role: 'togglefullscreen' }] },
  ];
  void ws;
  return Menu.buildFromTemplate(template);
}
