import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, test, beforeAll } from 'vitest';
import { exportBundle, importBundle, Library } from '../../main/library/index.js';
import { tempDir } from '../helpers/tmp.js';
import { writePair } from './fixtures.js';

// The child runs the built code (dist/): `npm run build:node` first.
const CHILD = resolve(import.meta.dirname, 'kill-import-child.mjs');
const SETS = 3;
const PAIRS_PER_SET = 10;

/** Starts an import in a child process, waits until it pauses at `phase`/`count`, then SIGKILLs it. */
function importAndKill(libDir: string, bundle: string, phase: string, count: number): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CHILD, libDir, bundle, phase, String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('paused')) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') done(out.trim());
      else fail(new Error(`child ended without being killed (code ${code}): ${out} ${err}`));
    });
  });
}

describe('SIGKILL in the middle of a large import', () => {
  const dir = tempDir('nv-lib-crash-');
  const bundle = join(dir, 'big.zip');
  let existingSet: string;

  beforeAll(async () => {
    if (!existsSync(resolve(import.meta.dirname, '../../dist/main/library/bundle/import.js')))
      throw new Error('dist/ has no library build: run `npm run build:node` first');
    // 3 sets × 10 pairs = 60 distinct volumes (each 48³ int16).
    const src = await Library.open(join(dir, 'src'));
    const inputs = join(dir, 'in');
    mkdirSync(inputs);
    for (let s = 0; s < SETS; s++) {
      for (let i = 0; i < PAIRS_PER_SET; i++) {
        const p = await writePair(inputs, 100 + s * PAIRS_PER_SET + i, { size: 48 });
        await src.addPair({ set: `set-${s}`, task: 'structure', scanner: 'scanner', image: { path: p.image }, label: { path: p.label } });
      }
    }
    await exportBundle(src, bundle);
    src.close();
    // The target library already holds another set, which must come through untouched.
    const lib = await Library.open(join(dir, 'target'));
    const p = await writePair(inputs, 1);
    await lib.addPair({ set: 'existing', task: 'structure', scanner: 'scanner', image: { path: p.image }, label: { path: p.label } });
    existingSet = JSON.stringify(lib.requireSet('existing'));
    lib.close();
  });

  /** Consistency after a crash, checked before and after the open-time sweep. */
  async function expectConsistent(libDir: string) {
    // First without sweeping: the only allowed damage is unreferenced files.
    let lib = await Library.open(libDir, { sweep: false });
    const before = await lib.verify({ hashes: true });
    expect(before.filter((p) => p.kind !== 'orphan-file')).toEqual([]);
    expect(lib.listSets().map((s) => s.name)).toEqual(['existing']); // nothing half-imported is visible
    expect(JSON.stringify(lib.requireSet('existing'))).toBe(existingSet);
    lib.close();
    // Then a normal open (age guard off for the test) sweeps the dead import's files.
    lib = await Library.open(libDir, { sweepMinAgeMs: 0 });
    expect(await lib.verify({ hashes: true })).toEqual([]);
    expect(existsSync(join(libDir, 'staging')) ? readdirSync(join(libDir, 'staging')) : []).toEqual([]);
    lib.close();
    return before.length;
  }

  test('the bundle holds 60 distinct volumes, ~5 MB', () => {
    // 48³ int16 noise does not compress: each volume is ~80 kB gzipped.
    expect(statSync(bundle).size).toBeGreaterThan(4 << 20);
  });

  test('killed while verifying/staging volumes (half of them inflated)', async () => {
    const lib = join(dir, 'target');
    expect(await importAndKill(lib, bundle, 'verify', 30)).toMatch(/paused verify 30\/60/);
    await expectConsistent(lib);
  });

  test('killed while moving verified files into volumes/ (before the commit): orphans only, then swept', async () => {
    const lib = join(dir, 'target');
    expect(await importAndKill(lib, bundle, 'adopt', 40)).toMatch(/paused adopt 40\/60/);
    expect(await expectConsistent(lib)).toBe(40); // 40 orphan files seen before the sweep
  });

  test('killed inside the database transaction, after 2 of 3 sets were written: none of them is visible', async () => {
    const lib = join(dir, 'target');
    expect(await importAndKill(lib, bundle, 'commit', 2)).toMatch(/paused commit 2\/3/);
    expect(await expectConsistent(lib)).toBe(60);
  });

  test('after the crashes the same import completes normally', async () => {
    const lib = await Library.open(join(dir, 'target'));
    try {
      const s = await importBundle(lib, bundle);
      expect(s.volumesAdded).toBe(60);
      expect(lib.listSets().map((x) => [x.name, x.pairs.length])).toEqual([
        ['existing', 1],
        ['set-0', PAIRS_PER_SET],
        ['set-1', PAIRS_PER_SET],
        ['set-2', PAIRS_PER_SET],
      ]);
      expect(await lib.verify({ hashes: true })).toEqual([]);
    } finally {
      lib.close();
    }
  });
});
