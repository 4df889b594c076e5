import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { decodeMessage, encodeMessage } from '../../main/api/codec.js';
import { createWorkstation } from '../../main/api/handlers.js';
import type { OpenResult } from '../../main/api/types.js';
import { startBrowserHost, type BrowserHost } from '../../main/host/server.js';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

// Files sent to the browser host are streamed to a temporary file in the data folder as they arrive; a host with
// a 1 MiB bound stands in for the 2 GiB one.
const dir = tempDir('nv-uploads-');
const uploadDir = join(dir, 'uploads');
const LIMIT = 1 << 20;
let host: BrowserHost;

beforeAll(async () => {
  const ws = createWorkstation({ mode: 'browser', version: 'test', dataDir: join(dir, 'data') });
  host = await startBrowserHost(ws, join(ROOT, 'renderer'), 0, { uploadDir, maxUploadBytes: LIMIT });
});
afterAll(() => host?.close());

const held = () => (existsSync(uploadDir) ? readdirSync(uploadDir) : []);

async function until(what: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !what(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(what()).toBe(true);
}

type Reply = { ok: boolean; value?: unknown; error?: { message: string } };

async function upload(data: Uint8Array): Promise<{ status: number; reply: Reply }> {
  const res = await fetch(`${host.url}api/upload`, { method: 'POST', headers: { authorization: `Bearer ${host.token}` }, body: data as BodyInit });
  return { status: res.status, reply: decodeMessage(new Uint8Array(await res.arrayBuffer())) as Reply };
}

async function call(method: string, args: unknown[]): Promise<Reply> {
  const res = await fetch(`${host.url}api/call/${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${host.token}` },
    body: encodeMessage(args) as BodyInit,
  });
  return decodeMessage(new Uint8Array(await res.arrayBuffer())) as Reply;
}

/** POSTs a body produced chunk by chunk; resolves with the status (or 'reset') and how many bytes were handed over. */
function stream(headers: Record<string, string | number>, chunks: number, chunk = 1 << 16): Promise<{ status: number | 'reset'; sent: number }> {
  return new Promise((ok) => {
    let sent = 0;
    let status: number | 'reset' = 'reset';
    const req = request({
      host: '127.0.0.1',
      port: host.port,
      path: '/api/upload',
      method: 'POST',
      headers: { authorization: `Bearer ${host.token}`, ...headers },
    });
    req.on('response', (res) => {
      status = res.statusCode ?? 0;
      res.resume();
      res.on('end', () => ok({ status, sent }));
    });
    req.on('error', () => ok({ status, sent }));
    const buf = new Uint8Array(chunk);
    const pump = () => {
      while (sent < chunks * chunk) {
        sent += chunk;
        if (!req.write(buf)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

describe('uploads to the browser host', () => {
  test('an upload declaring more than the bound is refused before its body is read', async () => {
    const r = await stream({ 'content-length': 8 * LIMIT }, 128);
    expect(r.status).toBe(413);
    expect(held()).toEqual([]);
  });

  test('an upload without a length is read only up to the bound, then refused; no partial file is left', async () => {
    // 256 MiB offered as a chunked body: the host stops reading after 1 MiB and closes the connection, so the
    // client can hand over little more than what the socket buffers hold.
    const r = await stream({}, 4096);
    expect([413, 'reset']).toContain(r.status);
    expect(r.sent).toBeLessThan(64 << 20);
    await until(() => held().length === 0);
  });

  test('an aborted upload leaves no temporary file', async () => {
    const req = request({
      host: '127.0.0.1',
      port: host.port,
      path: '/api/upload',
      method: 'POST',
      headers: { authorization: `Bearer ${host.token}`, 'content-length': LIMIT },
    });
    req.on('error', () => undefined);
    req.write(new Uint8Array(LIMIT / 4));
    await until(() => held().some((f) => f.endsWith('.part')));
    req.destroy();
    await until(() => held().length === 0);
  });

  test('an uploaded file opens to the same volume as the file sent whole, and is removed once used', async () => {
    const bytes = new Uint8Array(readFileSync(join(ROOT, 'resources/sample/colin27_aal.nii.gz')));
    expect(bytes.length).toBeLessThan(LIMIT);
    const up = await upload(bytes);
    expect(up.status).toBe(200);
    const { upload: id, size } = up.reply.value as { upload: string; size: number };
    expect(size).toBe(bytes.length);
    expect(held()).toHaveLength(1);

    const viaUpload = await call('openFiles', [[{ name: 'aal.nii.gz', upload: id }], { role: 'label' }]);
    expect(viaUpload.ok, viaUpload.error?.message).toBe(true);
    const whole = await call('openFiles', [[{ name: 'aal.nii.gz', data: bytes }], { role: 'label' }]);
    const a = await call('volumeNifti', [(viaUpload.value as OpenResult & { kind: 'volume' }).volume.id]);
    const b = await call('volumeNifti', [(whole.value as OpenResult & { kind: 'volume' }).volume.id]);
    expect(Buffer.from(a.value as Uint8Array).equals(Buffer.from(b.value as Uint8Array))).toBe(true);
    expect(held()).toEqual([]);

    const again = await call('openFiles', [[{ name: 'aal.nii.gz', upload: id }]]);
    expect(again.ok).toBe(false);
    expect(again.error!.message).toBe('aal.nii.gz: the upload of this file is unknown or has expired; send it again');
  });
});
