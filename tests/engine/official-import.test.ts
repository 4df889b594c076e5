import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelSessions, decode, encodeContext, encodeTarget, importCheckpoint, loadModelPackage, releaseEncoding } from '../../main/engine/index.js';
import { loadIo, maxAbsDiff } from './fixture-helpers.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../../native-models/fixtures/make_engine_fixtures.py', import.meta.url));
const env = { ...process.env, MALLOC_MMAP_MAX_: '0', MALLOC_TRIM_THRESHOLD_: '68719476736' };

function torchAvailable(): boolean {
  if (!existsSync(PYTHON)) return false;
  return spawnSync(PYTHON, ['-c', 'import torch'], { env }).status === 0;
}

const haveTorch = torchAvailable();
if (!haveTorch) console.warn('official-import test skipped: /usr/bin/python3 has no torch (apt-get install python3-torch)');

const tmp = mkdtempSync(join(tmpdir(), 'nv-official-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!haveTorch)('official Lightning checkpoint at the full config (random weights, generated now)', () => {
  it('imports without Python and matches the PyTorch forward at 32³, L = 2', { timeout: 600_000 }, async () => {
    const gen = spawnSync(PYTHON, [SCRIPT, 'official', '--out', tmp, '--grid', '32', '--contexts', '2'], { env, encoding: 'utf8' });
    expect(gen.status, gen.stderr).toBe(0);

    const pkgDir = join(tmp, 'pkg');
    const { manifest } = await importCheckpoint(join(tmp, 'official.ckpt'), pkgDir, { grid: [32, 32, 32] });
    expect(manifest.architecture.channels).toEqual([32, 64, 128, 256, 512]);
    expect(manifest.provenance.parameters).toBe(70_854_913);
    expect(manifest.provenance.sourceFormat).toBe('torch-zip');

    const fx = loadIo(join(tmp, 'official-io.safetensors'));
    const sessions = await ModelSessions.create(await loadModelPackage(pkgDir), 'cpu');
    try {
      const enc = await encodeTarget(sessions, fx.target, fx.grid);
      const out = await decode(sessions, enc, await encodeContext(sessions, enc, fx.pairs, { miniContext: 1 }));
      releaseEncoding(enc);
      const d = maxAbsDiff(out, fx.pred);
      console.log(`official config parity: max abs diff ${d.toExponential(3)}`);
      expect(d).toBeLessThanOrEqual(1e-4);
    } finally {
      await sessions.release();
    }
  });
});
