import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { InputError } from '../../main/common/errors.js';
import { encodeNifti } from '../../main/imaging/nifti/write.js';
import { parseNifti } from '../../main/imaging/nifti/read.js';
import type { Volume } from '../../main/imaging/volume.js';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

// Malformed NIfTI made at test time from a valid one by patching header fields (NIfTI-1 offsets: dim int16 at 40,
// pixdim float32 at 76, vox_offset float32 at 108, qform_code/sform_code int16 at 252/254, srow_x/y/z at 280/296/312).
const dir = tempDir();

function valid(): Uint8Array {
  const v: Volume = {
    dims: [8, 6, 4],
    spacing: [1, 1, 2],
    affine: [
      [-1, 0, 0, 10],
      [0, 1, 0, -5],
      [0, 0, 2, 3],
      [0, 0, 0, 1],
    ],
    data: Uint8Array.from({ length: 192 }, (_, i) => i % 7),
    slope: 1,
    intercept: 0,
    description: 'hostile-test',
    source: { kind: 'memory' },
  };
  return encodeNifti(v);
}

function patched(edit: (view: DataView) => void): Uint8Array {
  const b = valid().slice();
  edit(new DataView(b.buffer));
  return b;
}

const refused: [string, (v: DataView) => void, RegExp][] = [
  ['vox_offset NaN', (v) => v.setFloat32(108, NaN, true), /vox_offset is NaN/],
  ['vox_offset negative', (v) => v.setFloat32(108, -4, true), /vox_offset is -4/],
  ['a dimension of 0', (v) => v.setInt16(42, 0, true), /dim\[1\] is 0/],
  ['a dimension of 0xFFFF (-1 as int16)', (v) => v.setUint16(44, 0xffff, true), /dim\[2\] is -1/],
  ['dim[0] of 9', (v) => v.setInt16(40, 9, true), /dim\[0\] = 9/],
  ['a voxel size of 0', (v) => v.setFloat32(80, 0, true), /pixdim\[1\].*is 0/],
  ['a voxel size of NaN', (v) => v.setFloat32(88, NaN, true), /pixdim\[3\].*is NaN/],
  ['garbage sizeof_hdr', (v) => v.setInt32(0, 0x41414141, true), /sizeof_hdr is 1094795585/],
  [
    'an all-zero sform and no qform',
    (v) => {
      v.setInt16(252, 0, true);
      for (let i = 0; i < 12; i++) v.setFloat32(280 + 4 * i, 0, true);
    },
    /sform is not a finite, invertible matrix.*cannot be known/,
  ],
  [
    'a NaN sform and a NaN qform',
    (v) => {
      v.setFloat32(284, NaN, true);
      v.setFloat32(256, NaN, true);
    },
    /sform .* and the qform .*cannot be known/,
  ],
  [
    '2048³ float32 promised (32 GiB)',
    (v) => {
      for (const o of [42, 44, 46]) v.setInt16(o, 2048, true);
      v.setInt16(70, 16, true);
      v.setInt16(72, 32, true);
    },
    /above the 2\.0 GiB/,
  ],
];

describe('hostile NIfTI headers: one clear error naming the file and the field, nothing read as zeros or ones', () => {
  for (const [what, edit, message] of refused) {
    test(what, () => {
      for (const zipped of [false, true]) {
        const name = `bad${zipped ? '.nii.gz' : '.nii'}`;
        const bytes = zipped ? gzipSync(patched(edit)) : patched(edit);
        const err = (() => {
          try {
            parseNifti(bytes, name);
          } catch (e) {
            return e as InputError;
          }
          return null;
        })();
        expect(err, `${what} (${name}) was accepted`).toBeInstanceOf(InputError);
        expect(err!.message).toMatch(message);
        expect(err!.message.startsWith(`${name}: `)).toBe(true);
        expect(err!.message).not.toContain('\n');
      }
    });
  }

  test('an unusable sform with a usable qform: the qform is used and the volume says so', () => {
    const v = parseNifti(
      patched((d) => d.setFloat32(284, Infinity, true)),
      'q.nii',
    );
    expect(v.affine[0][0]).toBeCloseTo(-1);
    expect(v.affine[2][2]).toBeCloseTo(2);
    expect(v.source.note).toMatch(/sform is not .*qform is used/);
  });

  test("no sform and no qform: voxel sizes only, with a note (the standard's method 1)", () => {
    const v = parseNifti(
      patched((d) => (d.setInt16(252, 0, true), d.setInt16(254, 0, true))),
      'none.nii',
    );
    expect(v.affine).toEqual([
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 2, 0],
      [0, 0, 0, 1],
    ]);
    expect(v.source.note).toMatch(/orientation unknown/);
  });

  test('a valid file still reads, gzipped or not, with its voxels', () => {
    for (const bytes of [valid(), gzipSync(valid())]) {
      const v = parseNifti(bytes, 'ok.nii');
      expect(v.dims).toEqual([8, 6, 4]);
      expect(Array.from(v.data.slice(0, 8))).toEqual([0, 1, 2, 3, 4, 5, 6, 0]);
      expect(v.source.note).toBeUndefined();
    }
  });

  test('random truncations and bit flips of a valid file: an InputError or a volume, never another exception', () => {
    const good = gzipSync(valid());
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (let k = 0; k < 300; k++) {
      const b = k % 2 ? good.slice(0, Math.floor(rand() * good.length)) : valid().slice();
      if (!(k % 2)) for (let j = 0; j < 4; j++) b[Math.floor(rand() * 352)] ^= 1 << Math.floor(rand() * 8);
      try {
        const v = parseNifti(b, 'fuzz.nii');
        expect(v.data.length).toBe(v.dims.reduce((a, c) => a * c, 1));
        expect(v.spacing.every((s) => Number.isFinite(s) && s > 0)).toBe(true);
        expect(v.affine.flat().every(Number.isFinite)).toBe(true);
      } catch (e) {
        expect(e, String(e)).toBeInstanceOf(InputError);
      }
    }
  });
});

describe('a gzip bomb (a small .nii.gz that inflates far beyond its header) through the CLI', () => {
  test('is refused with one line and exit 1, inflating no more than its header accounts for', () => {
    // One member with the real header and voxels, then 64 members of 16 MiB of zeros each (1 GiB inflated, ~1 MB on disk).
    const zeros = gzipSync(Buffer.alloc(16 << 20));
    const bomb = Buffer.concat([gzipSync(valid()), ...Array.from({ length: 64 }, () => zeros)]);
    const file = join(dir, 'bomb.nii.gz');
    writeFileSync(file, bomb);
    // The CLI in a child process, reporting its own peak memory on exit.
    const probe = `process.on('exit', () => process.stderr.write('\\nmaxRSS ' + process.resourceUsage().maxRSS + '\\n'));
process.argv = [process.argv[0], 'neuroverse', 'info', ${JSON.stringify(file)}];
await import(${JSON.stringify(resolve(ROOT, 'bin/neuroverse.js'))});`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: ROOT, encoding: 'utf8' });
    const lines = r.stderr.trim().split('\n');
    const peakMb = Number(lines.pop()!.split(' ')[1]) / 1024;
    const message = lines.filter(Boolean);
    expect(r.status).toBe(1);
    expect(message).toHaveLength(1);
    expect(message[0]).toMatch(/bomb\.nii\.gz: inflates to more than the .* its header accounts for/);
    // Inflating the whole bomb would take over 1024 MB; the header-derived bound is 16 MiB of slack plus 192 voxels.
    expect(peakMb).toBeLessThan(400);
  });
});
