import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { decodeMessage, encodeMessage } from '../../main/api/codec.js';
import { createWorkstation, type Workstation } from '../../main/api/handlers.js';
import type { ApiEvent, OpenResult } from '../../main/api/types.js';
import { startBrowserHost, type BrowserHost } from '../../main/host/server.js';
import { parseNifti } from '../../main/imaging/index.js';
import { ROOT } from '../helpers/cli.js';
import { dicomDir, hasSharedData } from '../helpers/shared-data.js';
import { tempDir } from '../helpers/tmp.js';

let ws: Workstation;
let host: BrowserHost;
const dataDir = tempDir();
const events: ApiEvent[] = [];

beforeAll(async () => {
  ws = createWorkstation({ mode: 'browser', version: 'test', dataDir });
  ws.onEvent((e) => events.push(e));
  host = await startBrowserHost(ws, join(ROOT, 'renderer'));
});
afterAll(() => host.close());

async function call(method: string, args: unknown[], token = host.token) {
  const res = await fetch(`${host.url}api/call/${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: encodeMessage(args) as BodyInit,
  });
  if (!res.ok) return { status: res.status };
  return {
    status: res.status,
    reply: decodeMessage(new Uint8Array(await res.arrayBuffer())) as { ok: boolean; value?: unknown; error?: { message: string; file?: string } },
  };
}

function raw(path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port: host.port, path, method: 'GET', headers }, (res) => {
      res.resume();
      ok(res.statusCode ?? 0);
    });
    req.on('error', fail);
    req.end();
  });
}

describe('browser host', () => {
  test('listens on 127.0.0.1 only, on a random port', () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(host.port).toBeGreaterThan(0);
  });

  test('the API needs the per-launch token', async () => {
    expect((await call('appInfo', [], '')).status).toBe(401);
    expect((await call('appInfo', [], 'x'.repeat(64))).status).toBe(401);
    const ok = await call('appInfo', []);
    expect(ok.reply!.ok).toBe(true);
    expect((ok.reply!.value as { mode: string }).mode).toBe('browser');
  });

  test('requests for another host name or from another origin are refused (DNS rebinding, CSRF)', async () => {
    expect(await raw('/', { host: `evil.example:${host.port}` })).toBe(403);
    expect(await raw('/', { host: `127.0.0.1:${host.port}`, origin: 'http://evil.example' })).toBe(403);
    expect(await raw('/', { host: `127.0.0.1:${host.port}` })).toBe(200);
  });

  test('pages carry a strict Content-Security-Policy and no CORS headers', async () => {
    const res = await fetch(host.url);
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(res.headers.get('content-security-policy')).not.toMatch(/'unsafe-eval'/);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(await raw('/../package.json', { host: `127.0.0.1:${host.port}` })).toBe(404);
    expect(await raw('/%2e%2e/package.json', { host: `127.0.0.1:${host.port}` })).toBe(404);
  });

  test('unknown methods are refused', async () => {
    const r = await call('constructor', []);
    expect(r.reply!.ok).toBe(false);
    expect(r.reply!.error!.message).toMatch(/unknown API method/);
  });

  test('an uploaded NIfTI opens, its voxels come back as NIfTI, and it joins the recent files', async () => {
    const bytes = readFileSync(join(ROOT, 'resources/sample/colin27_aal.nii.gz'));
    const r = await call('openFiles', [[{ name: 'aal.nii.gz', data: new Uint8Array(bytes) }], { role: 'label' }]);
    expect(r.reply!.ok).toBe(true);
    const opened = r.reply!.value as OpenResult & { kind: 'volume' };
    expect(opened.volume.role).toBe('label');
    expect(opened.volume.dims).toEqual([181, 217, 181]);
    const nifti = await call('volumeNifti', [opened.volume.id]);
    const v = parseNifti(nifti.reply!.value as Uint8Array, 'roundtrip');
    expect(v.dims).toEqual([181, 217, 181]);
    expect(v.affine[0][3]).toBe(-90);
    const recent = (await call('recentFiles', [])).reply!.value as { name: string; path: string }[];
    expect(recent[0].name).toBe('aal.nii.gz');
    expect(recent[0].path.startsWith(dataDir)).toBe(true);
  });

  test('a corrupt upload is a clear error naming the file', async () => {
    const r = await call('openFiles', [[{ name: 'bad.nii.gz', data: new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3]) }]]);
    expect(r.reply!.ok).toBe(false);
    expect(r.reply!.error!.message).toMatch(/^bad\.nii\.gz: gzip data is corrupt or truncated/);
  });

  test.skipIf(!hasSharedData)('a dropped folder with two series asks which one, with progress events', async () => {
    const folder = dicomDir('siemens-xa30-enhanced/In');
    const files = readdirSync(folder, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name))
      .map((p) => ({ name: `In/${relative(folder, p)}`, data: new Uint8Array(readFileSync(p)) }));
    events.length = 0;
    const first = (await call('openFiles', [files, { jobId: 'job-1' }])).reply!.value as OpenResult & { kind: 'choose-series' };
    expect(first.kind).toBe('choose-series');
    expect(first.series.map((s) => s.seriesNumber)).toEqual([5, 6]);
    const chosen = await call('chooseSeries', [first.pendingId, first.series[1].seriesInstanceUid, { jobId: 'job-2' }]);
    expect(chosen.reply!.ok).toBe(true);
    const info = (chosen.reply!.value as OpenResult & { kind: 'volume' }).volume;
    expect([...info.dims].sort((a, b) => a - b)).toEqual([96, 128, 128]);
    expect(info.source.reader).toBe('dcm2niix (WASM)');
    expect(events.some((e) => e.type === 'progress' && e.jobId === 'job-2')).toBe(true);
    expect(events.some((e) => e.type === 'job-done' && e.jobId === 'job-2' && e.ok)).toBe(true);
  });

  test('events stream to the page as newline-delimited JSON', async () => {
    const controller = new AbortController();
    const res = await fetch(`${host.url}api/events`, { headers: { authorization: `Bearer ${host.token}` }, signal: controller.signal });
    const reader = res.body!.getReader();
    await call('openSample', []);
    let text = '';
    while (!text.includes('job-done')) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const lines = text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ApiEvent);
    expect(lines.some((e) => e.type === 'job-done')).toBe(true);
  });

  test('the URL for a browser command line carries a one-time code, exchanged once for the token', async () => {
    const url = host.launchUrl();
    expect(url).not.toContain(host.token);
    const code = /#code=([0-9a-f]+)$/.exec(url)![1];
    const exchange = () => fetch(`${host.url}api/session`, { method: 'POST', headers: { 'x-launch-code': code } });
    const first = await exchange();
    expect(first.status).toBe(200);
    expect(await first.text()).toBe(host.token);
    expect((await exchange()).status).toBe(401);
    expect((await fetch(`${host.url}api/session`, { method: 'POST', headers: { 'x-launch-code': 'guess' } })).status).toBe(401);
  });

  test("arguments are checked against the method's declared shape before any handler runs", async () => {
    const cases: [string, unknown[], RegExp][] = [
      ['volumeNifti', [42], /volumeNifti: argument 1 must be a string/],
      ['closeVolume', [], /closeVolume: argument 1 is missing/],
      ['removeLibraryPair', ['1; DROP TABLE'], /argument 1 must be a finite number/],
      ['openFiles', [[{ name: 'x.nii', data: 'not bytes' }]], /argument 1 must be a non-empty list of files/],
      ['reorderLibraryPairs', ['set', [1, 'two']], /argument 2 must be a list of numbers/],
      ['appInfo', [1], /appInfo takes 0 argument/],
      ['runTask', [[1, 2]], /runTask: argument 1 must be an object/],
    ];
    for (const [method, args, message] of cases) {
      const r = await call(method, args);
      expect(r.reply!.ok, method).toBe(false);
      expect(r.reply!.error!.message).toMatch(message);
    }
  });

  test('request bodies are bounded per method, before they are buffered, and answered in the API error shape', async () => {
    // appInfo takes no files: 5 MiB is refused from its Content-Length alone.
    const big = await fetch(`${host.url}api/call/appInfo`, {
      method: 'POST',
      headers: { authorization: `Bearer ${host.token}` },
      body: new Uint8Array(5 * 2 ** 20) as BodyInit,
    });
    expect(big.status).toBe(413);
    const reply = decodeMessage(new Uint8Array(await big.arrayBuffer())) as { ok: boolean; error: { message: string; code: string } };
    expect(reply).toMatchObject({ ok: false, error: { code: 'too-large' } });
    expect(reply.error.message).toMatch(/request to appInfo is larger than the 4194304 bytes/);
    // The host still answers afterwards.
    expect((await call('appInfo', [])).reply?.ok).toBe(true);
  });

  test('a body of millions of empty binary parts is refused by the codec, not turned into millions of objects', async () => {
    const parts = 200_000;
    const body = new Uint8Array(4 + 2 + 4 * parts);
    const view = new DataView(body.buffer);
    view.setUint32(0, 2, true);
    body.set(new TextEncoder().encode('[]'), 4);
    const r = await fetch(`${host.url}api/call/openFiles`, { method: 'POST', headers: { authorization: `Bearer ${host.token}` }, body: body as BodyInit });
    const reply = decodeMessage(new Uint8Array(await r.arrayBuffer())) as { ok: boolean; error: { message: string } };
    expect(reply.ok).toBe(false);
    expect(reply.error.message).toMatch(/more than 65536 binary parts/);
  });

  test('the codec carries bytes beside JSON unchanged', () => {
    const payload = { a: [1, 'x', null], b: new Uint8Array([0, 255, 7]), c: { d: new Uint8Array(0) } };
    const back = decodeMessage(encodeMessage(payload)) as typeof payload;
    expect(back.a).toEqual([1, 'x', null]);
    expect(Array.from(back.b)).toEqual([0, 255, 7]);
    expect(back.c.d.length).toBe(0);
    expect(() => decodeMessage(encodeMessage(payload).subarray(0, 10))).toThrow(/truncated/);
  });
});
