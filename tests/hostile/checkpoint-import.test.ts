import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';
import { expectedShapes } from '../../main/engine/model/architecture.js';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { checkpointPickle, torchZip } from '../helpers/torch-zip.js';
import type { TensorSpec } from '../helpers/torch-zip.js';

// Checkpoints of a few kilobytes that declare gigabytes, imported through the installed CLI in a child process:
// the refusal must be one line naming the file and the tensor, exit 1, and come before anything the file declares
// is allocated. The child's peak resident set (getrusage, written on exit by a preload) is the evidence: node
// itself needs about 100 MB, each of these files asks for 1 to 34 GB, or 0.8 GB once inflated and converted.
const dir = tempDir('nv-hostile-ckpt-');
const PEAK_LIMIT_KB = 400 * 1024;

function importCli(name: string, bytes: Uint8Array) {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  const rss = join(dir, `${name}.rss`);
  const out = join(dir, `${name}.pkg`);
  const r = spawnSync(
    process.execPath,
    ['--import', pathToFileURL(resolve(ROOT, 'tests/helpers/peak-rss.mjs')).href, resolve(ROOT, 'bin/neuroverse.js'), 'model', 'import', file, '--out', out],
    {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, NEUROVERSE_DATA_DIR: join(dir, 'data'), NV_PEAK_RSS_FILE: rss },
    },
  );
  return { code: r.status, stderr: r.stderr, lines: r.stderr.trim().split('\n'), peakKb: Number(readFileSync(rss, 'utf8')), file, out };
}

/** One float32 tensor `w` viewing a one-element (4-byte) storage with all strides 0. */
function broadcast(size: number[]): Uint8Array {
  const w: TensorSpec = { key: 'w', storage: '0', numel: 1, size, stride: size.map(() => 0) };
  return torchZip(checkpointPickle([w]), { '0': new Uint8Array(4) });
}

describe('hostile checkpoints through `neuroverse model import`', () => {
  test('shape [32768, 32768] with stride 0 over a 4-byte storage: one line, exit 1, nothing materialised', () => {
    const r = importCli('broadcast-1g.ckpt', broadcast([32768, 32768]));
    expect(r.code, r.stderr).toBe(1);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toContain(`${r.file}: weight w: shape [32768, 32768] with stride [0, 0] has 1073741824 elements over a storage of 1`);
    expect(r.peakKb).toBeLessThan(PEAK_LIMIT_KB);
    expect(existsSync(r.out)).toBe(false);
  });

  test('shape [131072, 65536] with stride 0 (2^33 elements): one line and exit 1, not an internal error', () => {
    const r = importCli('broadcast-8g.ckpt', broadcast([131072, 65536]));
    expect(r.code, r.stderr).toBe(1);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toContain(`${r.file}: weight w: shape [131072, 65536] with stride [0, 0] has 8589934592 elements`);
    expect(r.peakKb).toBeLessThan(PEAK_LIMIT_KB);
  });

  test('the shapes are checked against the architecture before any storage is inflated', () => {
    // The Neuroverse3D layout for channels 4-8-16-32, every weight in its own storage, except that the first
    // one is 8192 × 8192 over a real 256 MB storage (zeros, deflated to a few hundred kilobytes): a consistent
    // tensor, but not the shape the architecture gives that key.
    const tensors: TensorSpec[] = [];
    const storages: Record<string, Uint8Array | number> = {};
    for (const [key, dims] of expectedShapes([4, 8, 16, 32])) {
      const id = String(tensors.length);
      const size = tensors.length === 0 ? [8192, 8192] : dims;
      const numel = size.reduce((a, b) => a * b, 1);
      tensors.push({ key: `net.${key}`, storage: id, numel, size });
      storages[id] = tensors.length === 1 ? numel * 4 : new Uint8Array(numel * 4);
    }
    const r = importCli('wrong-shape.ckpt', torchZip(checkpointPickle(tensors), storages));
    expect(r.code, r.stderr).toBe(1);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toContain(`${r.file}: weight context_unet.context_embedding.module.weight has shape [8192, 8192], expected [4, 2, 1, 1, 1]`);
    expect(r.peakKb).toBeLessThan(PEAK_LIMIT_KB);
  });
});
