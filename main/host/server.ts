import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve } from 'node:path';
import { decodeMessage, encodeMessage } from '../api/codec.js';
import { InputError, toErrorPayload } from '../common/errors.js';
import { dispatch, maxRequestBytes, UPLOAD_METHODS } from '../api/methods.js';
import type { Workstation } from '../api/handlers.js';
import { rendererFile } from './renderer-file.js';
import { Uploads } from './uploads.js';

/**
 * The browser host: the renderer's transport where there is no Electron binary. It serves the built
 * renderer and one API endpoint on 127.0.0.1 only. Every API request carries a per-launch token
 * (handed to the page in the URL fragment, which browsers never send to servers); there are no CORS
 * headers, and Host/Origin are checked so that another web page cannot reach it by DNS rebinding.
 */
export interface BrowserHost {
  url: string;
  /** URL with the token, printed for the user (stdout is theirs alone). */
  appUrl: string;
  /**
   * A URL for a browser's command line, which other local users can read in /proc: it carries a one-time
   * code that the page exchanges for the token (POST /api/session) within a minute, once.
   */
  launchUrl(): string;
  token: string;
  port: number;
  close(): Promise<void>;
}

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  // NiiVue compiles no code at run time; WebAssembly is allowed for its decoders.
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "font-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
};

export interface BrowserHostOptions {
  /** Where uploads are written as they arrive; default <data folder>/uploads. */
  uploadDir?: string;
  /** Largest file one upload may carry; default the bound of an upload call's body (2 GiB). */
  maxUploadBytes?: number;
}

export async function startBrowserHost(ws: Workstation, rendererDir: string, port = 0, options: BrowserHostOptions = {}): Promise<BrowserHost> {
  const uploads = new Uploads(options.uploadDir ?? join(ws.dataDir, 'uploads'), options.maxUploadBytes ?? maxRequestBytes('openFiles'));
  const token = randomBytes(32).toString('hex');
  const tokenBytes = Buffer.from(token);
  const root = resolve(rendererDir);
  let actualPort = 0;
  const eventStreams = new Set<ServerResponse>();
  const unsubscribe = ws.onEvent((e) => {
    const frame = `${JSON.stringify(e)}\n`;
    for (const res of eventStreams) res.write(frame);
  });

  const launchCodes = new Map<string, number>();
  const exchange = (req: IncomingMessage, res: ServerResponse) => {
    const code = String(req.headers['x-launch-code'] ?? '');
    const expires = launchCodes.get(code);
    launchCodes.delete(code);
    if (expires === undefined || Date.now() > expires) return send(res, 401, 'text/plain', 'launch code unknown, used or expired');
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
    res.end(token);
  };
  const authorised = (req: IncomingMessage) => {
    const header = req.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
    return given.length === tokenBytes.length && timingSafeEqual(given, tokenBytes);
  };
  const sameOrigin = (req: IncomingMessage) => {
    const allowedHosts = [`127.0.0.1:${actualPort}`, `localhost:${actualPort}`];
    if (!allowedHosts.includes(req.headers.host ?? '')) return false;
    const origin = req.headers.origin;
    return origin === undefined || allowedHosts.some((h) => origin === `http://${h}`);
  };

  const server: Server = createServer(async (req, res) => {
    try {
      if (!sameOrigin(req)) return send(res, 403, 'text/plain', 'forbidden');
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname.startsWith('/api/')) {
        if (req.method === 'POST' && url.pathname === '/api/session') return exchange(req, res);
        if (!authorised(req)) return send(res, 401, 'text/plain', 'missing or wrong token');
        if (req.method === 'POST' && url.pathname.startsWith('/api/call/')) {
          return await handleCall(ws, uploads, decodeURIComponent(url.pathname.slice('/api/call/'.length)), req, res);
        }
        if (req.method === 'POST' && url.pathname === '/api/upload') return await handleUpload(uploads, req, res);
        if (req.method === 'GET' && url.pathname === '/api/events') {
          res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
          res.write('\n');
          eventStreams.add(res);
          req.on('close', () => eventStreams.delete(res));
          return;
        }
        return send(res, 404, 'text/plain', 'not found');
      }
      if (req.method !== 'GET') return send(res, 405, 'text/plain', 'method not allowed');
      return await serveStatic(root, url.pathname, res);
    } catch (err) {
      if (!res.headersSent) send(res, 500, 'text/plain', (err as Error).message);
      else res.end();
    }
  });

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok());
  });
  actualPort = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${actualPort}/`;
  return {
    url,
    appUrl: `${url}#token=${token}`,
    launchUrl: () => {
      const code = randomBytes(16).toString('hex');
      launchCodes.set(code, Date.now() + 60_000);
      return `${url}#code=${code}`;
    },
    token,
    port: actualPort,
    close: () =>
      new Promise<void>((ok) => {
        unsubscribe();
        for (const r of eventStreams) r.end();
        server.close(() => void uploads.close().then(ok, ok));
        server.closeAllConnections();
      }),
  };
}

/**
 * A file sent ahead of the call that uses it, written to disk as it arrives (the page shows the upload's progress);
 * the answer is the id the call names the file by. A declared length over the bound is refused before reading.
 */
async function handleUpload(uploads: Uploads, req: IncomingMessage, res: ServerResponse) {
  const declared = req.headers['content-length'];
  if (declared !== undefined && !(Number(declared) <= uploads.maxBytes)) return refuseBody(res, 'an upload', uploads.maxBytes, req);
  const r = await uploads.receive(req);
  if (!r.ok) {
    if (r.reason === 'too-large') return refuseBody(res, 'an upload', uploads.maxBytes, req);
    // The page went away mid-upload: the partial file is already removed, and there is no one to answer.
    return void res.destroy();
  }
  const bytes = encodeMessage({ ok: true, value: { upload: r.upload, size: r.size } });
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length, 'cache-control': 'no-store' });
  res.end(bytes);
}

async function handleCall(ws: Workstation, uploads: Uploads, method: string, req: IncomingMessage, res: ServerResponse) {
  const limit = maxRequestBytes(method);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return refuseBody(res, `a request to ${method}`, limit);
  let body: Uint8Array;
  try {
    body = await readBody(req, limit);
  } catch (err) {
    if ((err as Error).message === 'too large') return refuseBody(res, `a request to ${method}`, limit);
    throw err;
  }
  let reply: unknown;
  let used: string[] = [];
  try {
    let args = (body.length ? decodeMessage(body) : []) as unknown[];
    if (UPLOAD_METHODS.has(method) && Array.isArray(args)) ({ args, ids: used } = await uploads.resolve(args));
    reply = { ok: true, value: await dispatch(ws.api, method, args) };
  } catch (err) {
    reply = { ok: false, error: toErrorPayload(err) };
  } finally {
    // An upload serves one call: the service has its bytes (and its own copy where it keeps one).
    await uploads.release(used);
  }
  const bytes = encodeMessage(reply);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length, 'cache-control': 'no-store' });
  res.end(bytes);
}

/**
 * 413 with the same error shape as any API failure, so the page shows one line. With `req`, the rest of its body
 * is not read: the connection is closed once the answer is out.
 */
function refuseBody(res: ServerResponse, what: string, limit: number, req?: IncomingMessage) {
  const bytes = encodeMessage({
    ok: false,
    error: toErrorPayload(new InputError(undefined, `${what} is larger than the ${limit} bytes it may carry`, 'too-large')),
  });
  res.writeHead(413, { 'content-type': 'application/octet-stream', 'content-length': bytes.length, connection: 'close' });
  res.end(bytes, () => req?.destroy());
}

function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        // Stop buffering at once; the rest of the body is drained and dropped, not kept.
        chunks.length = 0;
        req.removeAllListeners('data');
        req.resume();
        fail(new Error('too large'));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => ok(Buffer.concat(chunks)));
    req.on('error', fail);
  });
}

async function serveStatic(root: string, pathname: string, res: ServerResponse) {
  const file = rendererFile(root, pathname);
  if (!file) return send(res, 404, 'text/plain', 'not found');
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch {
    return send(res, 404, 'text/plain', 'not found');
  }
  res.writeHead(200, {
    'content-type': MIME[extname(file)] ?? 'application/octet-stream',
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  });
  res.end(data);
}

function send(res: ServerResponse, status: number, type: string, body: string) {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}
