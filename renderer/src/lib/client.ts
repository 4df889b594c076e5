import { decodeMessage, encodeMessage } from '../../../main/api/codec';
import { API_METHODS } from '../../../main/api/methods';
import { fromErrorPayload, type ErrorPayload } from '../../../main/api/errors';
import type { ApiEvent, ApiMethod, WorkstationApi, WorkstationClient } from '../../../main/api/types';

/** What the Electron preload exposes (app/preload.ts). */
interface IpcBridge {
  call(method: string, args: unknown[]): Promise<{ ok: true; value: unknown } | { ok: false; error: ErrorPayload }>;
  onEvent(listener: (e: unknown) => void): () => void;
  onMenu(listener: (action: string) => void): () => void;
}

declare global {
  interface Window {
    neuroverseIpc?: IpcBridge;
  }
}

type Call = (method: ApiMethod, args: unknown[]) => Promise<unknown>;

export interface ConnectedClient extends WorkstationClient {
  transport: 'ipc' | 'http';
  /** Menu actions from the Electron shell; never fires in the browser host. */
  onMenu(listener: (action: string) => void): () => void;
}

/** The renderer's only door to the services: IPC under Electron, HTTP on 127.0.0.1 in the browser host. */
export function connect(): ConnectedClient {
  const ipc = window.neuroverseIpc;
  if (ipc) {
    const call: Call = async (method, args) => {
      const r = await ipc.call(method, args);
      if (!r.ok) throw fromErrorPayload(r.error);
      return r.value;
    };
    return build(
      call,
      (l) => ipc.onEvent((e) => l(e as ApiEvent)),
      'ipc',
      (l) => ipc.onMenu(l),
    );
  }
  const ready = sessionToken().then((token) => ({ authorization: `Bearer ${token}` }));
  const call: Call = async (method, args) => {
    const headers = await ready;
    const res = await fetch(`/api/call/${method}`, { method: 'POST', headers, body: encodeMessage(args) as BufferSource });
    // A refused body (413) still answers in the API's own error shape.
    if (!res.ok && res.headers.get('content-type') !== 'application/octet-stream') throw new Error(`${method}: HTTP ${res.status} ${await res.text()}`);
    const reply = decodeMessage(new Uint8Array(await res.arrayBuffer())) as { ok: boolean; value?: unknown; error?: ErrorPayload };
    if (!reply.ok) throw fromErrorPayload(reply.error!);
    return reply.value;
  };
  const listeners = new Set<(e: ApiEvent) => void>();
  void ready.then((headers) => streamEvents(headers, (e) => listeners.forEach((l) => l(e))));
  return build(
    call,
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    'http',
    () => () => {},
  );
}

/**
 * The browser host's token: from the URL fragment the user was given (#token=), or exchanged once for the
 * one-time code the launcher put on Chromium's command line (#code=). Kept in this tab's sessionStorage so a
 * reload works, and removed from the address bar.
 */
async function sessionToken(): Promise<string> {
  const hash = new URLSearchParams(location.hash.slice(1));
  let token = hash.get('token');
  const code = hash.get('code');
  if (!token && code) {
    const res = await fetch('/api/session', { method: 'POST', headers: { 'x-launch-code': code } });
    if (res.ok) token = await res.text();
  }
  if (token) {
    sessionStorage.setItem('neuroverse-token', token);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return token ?? sessionStorage.getItem('neuroverse-token') ?? '';
}

function build(call: Call, onEvent: WorkstationClient['onEvent'], transport: 'ipc' | 'http', onMenu: ConnectedClient['onMenu']): ConnectedClient {
  // Every API method becomes `(...args) => call(name, args)`, from the one list of method names.
  const api = Object.fromEntries(API_METHODS.map((m) => [m, (...args: unknown[]) => call(m, args)])) as unknown as WorkstationApi;
  return { ...api, onEvent, transport, onMenu };
}

/** Newline-delimited JSON events over a streamed fetch (keeps the token in a header, not the URL). */
async function streamEvents(headers: Record<string, string>, emit: (e: ApiEvent) => void) {
  for (let attempt = 0; attempt < 1000; attempt++) {
    try {
      const res = await fetch('/api/events', { headers });
      if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status}`);
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line) emit(JSON.parse(line) as ApiEvent);
        }
      }
    } catch {
      // The host went away or restarted; try again shortly.
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
