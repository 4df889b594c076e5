import { decodeMessage, encodeMessage } from '../../../main/api/codec';
import { API_METHODS } from '../../../main/api/methods';
import { CancelledError, fromErrorPayload, type ErrorPayload } from '../../../main/api/errors';
import type { ApiEvent, ApiMethod, SentFile, WorkstationClient } from '../../../main/api/types';

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

/** A file the user picked or dropped, not read yet. */
export interface PickedFile {
  /** Name, or the path relative to a dropped folder. */
  name: string;
  file: Blob;
}

export interface ConnectedClient extends WorkstationClient {
  transport: 'ipc' | 'http';
  /**
   * Picked files in the form openFiles/importModel take. Over IPC, their bytes. Over HTTP, each is streamed to
   * the host's disk first (never read whole into this page), shown as the job's "upload" progress; cancelJob(jobId)
   * aborts it.
   */
  sendFiles(files: PickedFile[], jobId: string): Promise<SentFile[]>;
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
    const sendFiles = (files: PickedFile[]) => Promise.all(files.map(async (f) => ({ name: f.name, data: new Uint8Array(await f.file.arrayBuffer()) })));
    return build(
      call,
      (l) => ipc.onEvent((e) => l(e as ApiEvent)),
      'ipc',
      (l) => ipc.onMenu(l),
      sendFiles,
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
  const emit = (e: ApiEvent) => listeners.forEach((l) => l(e));
  void ready.then((headers) => streamEvents(headers, emit));
  const inFlight = new Map<string, XMLHttpRequest>();
  const sendFiles = async (files: PickedFile[], jobId: string): Promise<SentFile[]> => {
    const headers = await ready;
    const total = files.reduce((a, f) => a + f.file.size, 0);
    const sent: SentFile[] = [];
    let before = 0;
    let ok = false;
    try {
      for (const f of files) {
        const progress = (loaded: number) =>
          emit({ type: 'progress', jobId, stage: 'upload', fraction: total ? (before + loaded) / total : null, message: `Uploading ${f.name}` });
        progress(0);
        sent.push({ name: f.name, upload: await uploadFile(f, headers, progress, (xhr) => inFlight.set(jobId, xhr)) });
        before += f.file.size;
      }
      ok = true;
    } finally {
      inFlight.delete(jobId);
      // The upload's progress line ends here; the call that opens the files reports under the same job id.
      emit({ type: 'job-done', jobId, ok });
    }
    return sent;
  };
  const client = build(
    call,
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    'http',
    () => () => {},
    sendFiles,
  );
  // Cancel during an upload stops the upload; the host removes what it had written.
  const cancelJob = client.cancelJob;
  client.cancelJob = async (jobId) => {
    inFlight.get(jobId)?.abort();
    return cancelJob(jobId);
  };
  return client;
}

/**
 * One file to POST /api/upload. XMLHttpRequest, not fetch: only it reports upload progress in every browser. The
 * answer is the upload's id, or the host's one-line error (413 for a file over the bound).
 */
function uploadFile(
  f: PickedFile,
  headers: Record<string, string>,
  progress: (loaded: number) => void,
  started: (xhr: XMLHttpRequest) => void,
): Promise<string> {
  return new Promise((ok, fail) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/upload');
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.responseType = 'arraybuffer';
    xhr.upload.onprogress = (e) => progress(e.loaded);
    xhr.onload = () => {
      try {
        const reply = decodeMessage(new Uint8Array(xhr.response as ArrayBuffer)) as { ok: boolean; value?: { upload: string }; error?: ErrorPayload };
        if (reply.ok && reply.value) return ok(reply.value.upload);
        fail(fromErrorPayload({ ...reply.error!, file: reply.error!.file ?? f.name }));
      } catch {
        fail(new Error(`${f.name}: upload failed (HTTP ${xhr.status})`));
      }
    };
    xhr.onerror = () => fail(new Error(`${f.name}: upload failed (the host closed the connection)`));
    xhr.onabort = () => fail(new CancelledError(`upload of ${f.name}`));
    started(xhr);
    xhr.send(f.file);
  });
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

function build(
  call: Call,
  onEvent: WorkstationClient['onEvent'],
  transport: 'ipc' | 'http',
  onMenu: ConnectedClient['onMenu'],
  sendFiles: ConnectedClient['sendFiles'],
): ConnectedClient {
  // Every API method becomes `(...args) => call(name, args)`, from the one list of method names.
  const api = Object.fromEntries(API_METHODS.map((m) => [m, (...args: unknown[]) => call(m, args)])) as unknown as Omit<WorkstationClient, 'onEvent'>;
  return { ...api, onEvent, transport, onMenu, sendFiles };
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
