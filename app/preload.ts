/**
 * Preload (sandboxed, CommonJS): exposes exactly two functions to the page through contextBridge.
 * The page never gets ipcRenderer or any Node API.
 */
import { contextBridge, ipcRenderer } from 'electron';

contextBridge.exposeInMainWorld('neuroverseIpc', {
  call: (method: string, args: unknown[]) => ipcRenderer.invoke('neuroverse:call', method, args),
  onEvent: (listener: (event: unknown) => void) => {
    const handler = (_e: unknown, payload: unknown) => listener(payload);
    ipcRenderer.on('neuroverse:event', handler);
    return () => ipcRenderer.removeListener('neuroverse:event', handler);
  },
  onMenu: (listener: (action: string) => void) => {
    const handler = (_e: unknown, action: string) => listener(action);
    ipcRenderer.on('neuroverse:menu', handler);
    return () => ipcRenderer.removeListener('neuroverse:menu', handler);
  },
});
