import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { decodeMessage, encodeMessage } from '../../main/api/codec.js';
import { createWorkstation } from '../../main/api/handlers.js';
import { API_METHODS } from '../../main/api/methods.js';
import { InputError } from '../../main/common/errors.js';
import { parseSafetensors } from '../../main/engine/checkpoint/safetensors.js';
import { startBrowserHost, type BrowserHost } from '../../main/host/server.js';
import { importSeries, scanDicomFolder } from '../../main/imaging/index.js';
import { exportBundle, importBundle, Library } from '../../main/library/index.js';
import { ROOT } from '../helpers/cli.js';
import { dicomDir, hasSharedData } from '../helpers/shared-data.js';
import { tempDir } from '../helpers/tmp.js';
import { writePair } from '../library/fixtures.js';

// Random damage of valid inputs, generated at test time from fixed seeds: every reader and endpoint answers
// with a volume/result or one InputError line, never another exception, and leaves what the user had as it was.
const dir = tempDir('nv-fuzz-');

function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
}

/** A damaged copy: truncated at a random point, or with a few random bit flips (in `region` bytes if given). */
function damage(bytes: Uint8Array, rand: () => number, k: number, region = bytes.length): Uint8Array {
  if (k % 3 === 0) return bytes.slice(0, Math.floor(rand() * bytes.length));
  const b = bytes.slice();
  for (let j = 0; j < 1 + (k % 4); j++) b[Math.floor(rand() * Math.min(region, b.length))] ^= 1 << Math.floor(rand() * 8);
  return b;
}

async function outcome(f: () => Promise<unknown>): Promise<'ok' | 'refused'> {
  try {
    await f();
    return 'ok';
  } catch (e) {
    expect(e, String((e as Error)?.stack ?? e)).toBeInstanceOf(InputError);
    expect((e as Error).message).not.toContain('\n');
    return 'refused';
  }
}

describe('fuzz: readers', () => {
  test.skipIf(!hasSharedData)('DICOM series with damaged headers or truncated files', async () => {
    const src = dicomDir('ge-3d-t1-mprage/In/05_3D_Ax_T1_MP_RAGE_R22');
    const files = readdirSync(src).sort().slice(40, 44);
    const rand = rng(7);
    const seen = { ok: 0, refused: 0 };
    for (let k = 0; k < 24; k++) {
      const d = join(dir, `dicom-${k}`);
      mkdirSync(d);
      files.forEach((f, i) =>
        i === k % files.length ? writeFileSync(join(d, f), damage(readFileSync(join(src, f)), rand, k, 4096)) : copyFileSync(join(src, f), join(d, f)),
      );
      seen[await outcome(async () => importSeries(await scanDicomFolder(d), undefined))]++;
    }
    expect(seen.ok + seen.refused).toBe(24);
  });

  test('safetensors with damaged headers or truncated data', async () => {
    const good = new Uint8Array(readFileSync(join(ROOT, 'tests/fixtures/engine/tiny.safetensors')));
    const rand = rng(11);
    for (let k = 0; k < 200; k++) await outcome(async () => parseSafetensors(damage(good, rand, k, 2048), 'fuzz.safetensors'));
  });
});

describe('fuzz: library bundles', () => {
  let lib: Library;
  let bundle: Uint8Array;
  beforeAll(async () => {
    const src = await Library.open(join(dir, 'lib-src'), { user: 'a' });
    mkdirSync(join(dir, 'in'), { recursive: true });
    for (const seed of [1, 2]) {
      const p = await writePair(join(dir, 'in'), seed, { values: [5] });
      await src.addPair({ set: 's', task: { name: 't', labels: [5] }, scanner: 'x', image: { path: p.image }, label: { path: p.label } });
    }
    await exportBundle(src, join(dir, 'good.zip'));
    src.close();
    bundle = new Uint8Array(readFileSync(join(dir, 'good.zip')));
    lib = await Library.open(join(dir, 'lib-dst'), { user: 'b' });
  });
  afterAll(() => lib?.close());

  test('a damaged bundle is imported whole or refused whole; a refusal leaves the library as it was', async () => {
    const rand = rng(5);
    for (let k = 0; k < 40; k++) {
      const file = join(dir, `bundle-${k}.zip`);
      writeFileSync(file, damage(bundle, rand, k));
      const before = lib
        .listSets()
        .map((s) => `${s.name}:${s.pairs.length}`)
        .join();
      const r = await outcome(() => importBundle(lib, file));
      const after = lib
        .listSets()
        .map((s) => `${s.name}:${s.pairs.length}`)
        .join();
      if (r === 'refused') expect(after, `bundle ${k}`).toBe(before);
    }
  });
});

describe('fuzz: browser host endpoints', () => {
  let host: BrowserHost;
  beforeAll(async () => {
    const ws = createWorkstation({ mode: 'browser', version: 'test', dataDir: join(dir, 'host') });
    host = await startBrowserHost(ws, join(ROOT, 'renderer'));
  });
  afterAll(() => host?.close());

  test('random bodies and argument lists to every method: an error reply in the API shape, and the host keeps answering', async () => {
    const rand = rng(3);
    const junk = (): unknown => {
      const r = rand();
      if (r < 0.2) return Math.floor(rand() * 1e9) - 5e8;
      if (r < 0.4) return '../'.repeat(Math.floor(rand() * 5)) + 'x'.repeat(Math.floor(rand() * 50));
      if (r < 0.55) return null;
      if (r < 0.7) return { name: 'a.nii', data: new Uint8Array(Math.floor(rand() * 400)).map(() => Math.floor(rand() * 256)) };
      if (r < 0.85) return [junk(), junk()];
      return { targetVolumeId: String(rand()), structures: [{ labels: [rand()] }], set: '..' };
    };
    // Methods that open native dialogs or retrieve from a PACS are skipped: they would reach outside the test.
    const methods = API_METHODS.filter((m) => !['openWithDialog', 'pacsEcho', 'pacsFind', 'pacsSend', 'pacsRetrieve', 'emptyLibraryTrash'].includes(m));
    for (let k = 0; k < 150; k++) {
      const method = methods[k % methods.length];
      const raw = k % 5 === 4;
      const body = raw
        ? new Uint8Array(Math.floor(rand() * 300)).map(() => Math.floor(rand() * 256))
        : encodeMessage(Array.from({ length: Math.floor(rand() * 4) }, junk));
      const res = await fetch(`${host.url}api/call/${method}`, { method: 'POST', headers: { authorization: `Bearer ${host.token}` }, body: body as BodyInit });
      expect([200, 413]).toContain(res.status);
      const reply = decodeMessage(new Uint8Array(await res.arrayBuffer())) as { ok: boolean; error?: { message: string } };
      if (!reply.ok) {
        expect(typeof reply.error?.message).toBe('string');
        expect(reply.error!.message).not.toContain('[object Object]');
      }
    }
    const info = await fetch(`${host.url}api/call/appInfo`, {
      method: 'POST',
      headers: { authorization: `Bearer ${host.token}` },
      body: encodeMessage([]) as BodyInit,
    });
    expect((decodeMessage(new Uint8Array(await info.arrayBuffer())) as { ok: boolean }).ok).toBe(true);
  });
});
