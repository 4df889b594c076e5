import { readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { strToU8, zipSync, type Zippable } from 'fflate';
import { describe, expect, test, beforeAll, afterAll } from 'vitest';
import { InputError } from '../../main/api/errors.js';
import { encodeNifti, writeNifti } from '../../main/imaging/index.js';
import { exportBundle, importBundle, Library } from '../../main/library/index.js';
import { sha256 } from '../../main/library/volumes.js';
import { tempDir } from '../helpers/tmp.js';
import { syntheticImage, syntheticLabel, writePair } from './fixtures.js';

const ROOT = resolve(import.meta.dirname, '../..');
const T1 = join(ROOT, 'resources/sample/colin27_t1.nii.gz');
const AAL = join(ROOT, 'resources/sample/colin27_aal.nii.gz');

/** Everything a refused import must leave untouched: every table's rows and the library's files. */
function snapshot(lib: Library): string {
  const tables = ['scanners', 'tasks', 'volumes', 'context_sets', 'pairs', 'studies', 'runs', 'audit_log'];
  const rows = Object.fromEntries(tables.map((t) => [t, lib.db.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all()]));
  const files = (readdirSync(lib.dir, { recursive: true }) as string[]).filter((f) => !/^library\.db/.test(f)).sort();
  return JSON.stringify({ rows, files });
}

describe('bundles', () => {
  const dir = tempDir('nv-lib-bundle-');
  const inputs = join(dir, 'in');
  mkdirSync(inputs);
  let a: Library;
  let b: Library;
  beforeAll(async () => {
    a = await Library.open(join(dir, 'a'), { user: 'alice' });
    b = await Library.open(join(dir, 'b'), { user: 'bob' });
    await a.addPair({
      set: 'colin-hippo',
      task: { name: 'hippocampus', labels: [37, 38] },
      scanner: { name: 'mni', description: 'MNI colin27 template' },
      image: { path: T1 },
      label: { path: AAL },
    });
    for (const seed of [11, 12, 13]) {
      const p = await writePair(inputs, seed, { values: [37] });
      await a.addPair({ set: 'colin-hippo', task: 'hippocampus', scanner: 'mni', image: { path: p.image }, label: { path: p.label } });
    }
    const g = await writePair(inputs, 14);
    const h = await writePair(inputs, 15);
    await a.addPair({ set: 'denoise', task: { name: 'denoise', kind: 'generate' }, scanner: 'mni', image: { path: g.image }, label: { path: h.image } });
  });
  afterAll(() => {
    a.close();
    b.close();
  });

  test('export → import → export is byte-identical, and exports are deterministic', async () => {
    const first = join(dir, 'colin.zip');
    const summary = await exportBundle(a, first, { set: 'colin-hippo' });
    expect(summary).toMatchObject({ sets: 1, pairs: 4, volumes: 8 });
    const imported = await importBundle(b, first);
    expect(imported.sets).toEqual([{ name: 'colin-hippo', created: true, pairsAdded: 4, pairsAlreadyThere: 0 }]);
    expect(imported.volumesAdded).toBe(8);
    const second = join(dir, 'colin-again.zip');
    await exportBundle(b, second, { set: 'colin-hippo' });
    expect(readFileSync(second).equals(readFileSync(first))).toBe(true);
    // Provenance survives the trip; the importer is in the audit log.
    expect(b.requireSet('colin-hippo').pairs[0]).toMatchObject({ addedBy: 'alice', imageSource: T1 });
    expect(b.listAudit().find((e) => e.action === 'import-bundle')).toMatchObject({ user: 'bob', detail: { file: first } });
    expect(b.requireSet('colin-hippo').scanner.description).toBe('MNI colin27 template');
    expect(await b.verify()).toEqual([]);
    // Exporting the whole library twice gives the same bytes too.
    await exportBundle(a, join(dir, 'all-1.zip'));
    await exportBundle(a, join(dir, 'all-2.zip'));
    expect(readFileSync(join(dir, 'all-1.zip')).equals(readFileSync(join(dir, 'all-2.zip')))).toBe(true);
    await expect(exportBundle(a, first, { set: 'colin-hippo' })).rejects.toThrow(/already exists/);
  });

  test('importing what is already there duplicates nothing; a whole-library bundle merges in', async () => {
    const before = snapshot(b);
    const again = await importBundle(b, join(dir, 'colin.zip'));
    expect(again.sets).toEqual([{ name: 'colin-hippo', created: false, pairsAdded: 0, pairsAlreadyThere: 4 }]);
    expect(again.volumesAdded).toBe(0);
    expect(b.requireSet('colin-hippo').pairs).toHaveLength(4);
    // Only the audit log grew.
    const strip = (s: string) => JSON.parse(s, (k, v) => (k === 'audit_log' ? undefined : v));
    expect(strip(snapshot(b))).toEqual(strip(before));
    const all = await importBundle(b, join(dir, 'all-1.zip'));
    expect(all.volumesAdded).toBe(2);
    expect(all.volumesAlreadyThere).toBe(8);
    expect(b.listSets().map((s) => [s.name, s.pairs.length])).toEqual([
      ['colin-hippo', 4],
      ['denoise', 1],
    ]);
    const files = (readdirSync(join(b.dir, 'volumes'), { recursive: true }) as string[]).filter((f) => f.endsWith('.gz'));
    expect(files).toHaveLength(10);
  });

  test('a volume file lost from the library is restored by importing a bundle that has it', async () => {
    const victim = b.requireSet('colin-hippo').pairs[1].label;
    rmSync(victim.path);
    expect((await b.verify()).map((p) => p.kind)).toEqual(['missing-file']);
    const r = await importBundle(b, join(dir, 'colin.zip'));
    expect(r.volumesAdded).toBe(1);
    expect(await b.verify()).toEqual([]);
  });

  test('raw .nii volumes (mostly-zero label maps) travel stored, so their bundle passes the ratio limit', async () => {
    const src = await Library.open(join(dir, 'raw-src'));
    const dst = await Library.open(join(dir, 'raw-dst'));
    try {
      const image = join(inputs, 'raw-img.nii');
      const label = join(inputs, 'raw-lab.nii');
      await writeNifti(image, syntheticImage(201, 64, [-32, -32, -32]), { overwrite: true });
      await writeNifti(label, syntheticLabel(201, 64, [1], [-32, -32, -32]), { overwrite: true });
      await src.addPair({ set: 'raw', task: 'cube', scanner: 'any', image: { path: image }, label: { path: label } });
      const bundle = join(dir, 'raw.zip');
      await exportBundle(src, bundle);
      expect((await importBundle(dst, bundle)).volumesAdded).toBe(2);
      expect(dst.requireSet('raw').pairs[0].label.path.endsWith('.nii')).toBe(true);
    } finally {
      src.close();
      dst.close();
    }
  });

  describe('refused bundles change nothing', () => {
    // A valid small bundle's parts, to craft bad ones from.
    const img = gzipSync(encodeNifti(syntheticImage(101)));
    const lab = gzipSync(encodeNifti(syntheticImage(102)));
    const other = gzipSync(encodeNifti(syntheticImage(103)));
    const vol = (bytes: Uint8Array, name = sha256(bytes)) => ({
      sha256: name,
      entry: `volumes/${name}.nii.gz`,
      bytes: bytes.length,
      dims: [16, 16, 16],
      spacing: [1, 1, 1],
      affine: [
        [1, 0, 0, -8],
        [0, 1, 0, -8],
        [0, 0, 1, -8],
        [0, 0, 0, 1],
      ],
      datatype: 'int16',
    });
    const manifest = (vols: ReturnType<typeof vol>[], extra: Record<string, unknown> = {}) =>
      strToU8(
        JSON.stringify({
          format: 'neuroverse-library-bundle',
          version: 1,
          tasks: [{ name: 'enhance', kind: 'generation', structure: null, labels: [] }],
          scanners: [{ name: 'evil', manufacturer: null, model: null, fieldStrength: null, sequence: null, institution: null, description: null }],
          sets: [
            {
              name: 'evil-set',
              description: null,
              task: 'enhance',
              scanner: 'evil',
              pairs: [
                { image: vols[0].sha256, label: vols[1].sha256, imageSource: null, labelSource: null, addedBy: 'mallory', addedAt: '2026-01-01T00:00:00.000Z' },
              ],
            },
          ],
          volumes: vols,
          ...extra,
        }),
      );
    const write = (name: string, files: Zippable) => {
      const p = join(dir, name);
      writeFileSync(p, zipSync(files));
      return p;
    };
    const expectRefused = async (bundle: string, pattern: RegExp, options = {}) => {
      const before = snapshot(b);
      const err = await importBundle(b, bundle, options).catch((e) => e);
      expect(err).toBeInstanceOf(InputError);
      expect(err.message).toMatch(pattern);
      expect(snapshot(b)).toBe(before);
      expect(existsSync(join(b.dir, 'staging')) ? readdirSync(join(b.dir, 'staging')) : []).toEqual([]);
    };

    test('the well-formed control bundle imports (so the refusals below are about their one defect)', async () => {
      const ok = write('ok.zip', {
        'manifest.json': manifest([vol(img), vol(lab)]),
        [`volumes/${sha256(img)}.nii.gz`]: [img, { level: 0 }],
        [`volumes/${sha256(lab)}.nii.gz`]: [lab, { level: 0 }],
      });
      const c = await Library.open(join(dir, 'c'));
      try {
        expect((await importBundle(c, ok)).volumesAdded).toBe(2);
      } finally {
        c.close();
      }
    });

    test('a volume whose content does not match its hash', async () => {
      const claimed = sha256(lab);
      const bad = write('bad-hash.zip', {
        'manifest.json': manifest([vol(img), { ...vol(other, claimed), bytes: other.length }]),
        [`volumes/${sha256(img)}.nii.gz`]: [img, { level: 0 }],
        [`volumes/${claimed}.nii.gz`]: [other, { level: 0 }],
      });
      await expectRefused(bad, new RegExp(`volumes/${claimed}.nii.gz.*sha256 is ${sha256(other)}, not the ${claimed}`));
    });

    test('path traversal: "../" and absolute entry names', async () => {
      const base = { 'manifest.json': manifest([vol(img), vol(lab)]), [`volumes/${sha256(img)}.nii.gz`]: img, [`volumes/${sha256(lab)}.nii.gz`]: lab };
      await expectRefused(
        write('dotdot.zip', { ...base, '../../evil.sh': strToU8('#!/bin/sh\n') }),
        /entry "..\/..\/evil.sh".*climbs out of the bundle.*path traversal/,
      );
      await expectRefused(write('volumes-dotdot.zip', { ...base, 'volumes/../../x': strToU8('x') }), /climbs out/);
      await expectRefused(write('absolute.zip', { ...base, '/etc/cron.d/evil': strToU8('x') }), /entry "\/etc\/cron.d\/evil".*absolute path/);
      expect(existsSync(join(dir, 'evil.sh'))).toBe(false);
    });

    test('oversize entries are refused from their declared size, before inflating', async () => {
      const zeros = new Uint8Array(64 << 20); // 64 MiB of zeros deflates to ~64 KiB
      const bomb = write('bomb.zip', { 'manifest.json': manifest([vol(img), vol(lab)]), [`volumes/${sha256(zeros)}.nii`]: [zeros, { level: 9 }] });
      await expectRefused(bomb, /declares 67108864 bytes, over the 16777216-byte limit per entry/, { limits: { maxEntryBytes: 16 << 20 } });
      await expectRefused(bomb, /compression ratio of \d+:1, over the limit of 100:1 \(possible zip bomb\)/, { limits: { maxRatio: 100 } });
    });

    test('an entry that inflates past its declared size is stopped there (lying header)', async () => {
      const zeros = new Uint8Array(8 << 20);
      const name = `volumes/${sha256(zeros)}.nii`;
      const bytes = zipSync({
        'manifest.json': manifest([vol(img), { ...vol(zeros), entry: name, bytes: 1000 }]),
        [`volumes/${sha256(img)}.nii.gz`]: img,
        [name]: [zeros, { level: 9 }],
      });
      // Patch the central directory's uncompressed size of that entry down to 1000 bytes.
      const buf = Buffer.from(bytes);
      const at = buf.lastIndexOf(Buffer.from(name));
      expect(buf.readUInt32LE(at - 46)).toBe(0x02014b50);
      buf.writeUInt32LE(1000, at - 46 + 24);
      const p = join(dir, 'liar.zip');
      writeFileSync(p, buf);
      await expectRefused(p, /inflates to more than its declared 1000 bytes/, { limits: { maxRatio: 1e9 } });
    });

    test("a volume no pair uses, and a segmentation label without its task's values", async () => {
      const entries = { [`volumes/${sha256(img)}.nii.gz`]: img, [`volumes/${sha256(lab)}.nii.gz`]: lab, [`volumes/${sha256(other)}.nii.gz`]: other };
      await expectRefused(
        write('unused.zip', { 'manifest.json': manifest([vol(img), vol(lab), vol(other)]), ...entries }),
        new RegExp(`volume ${sha256(other)} is used by no pair`),
      );
      const seg = manifest([vol(img), vol(lab)], { tasks: [{ name: 'enhance', kind: 'segmentation', structure: null, labels: [5000] }] });
      const two = { [`volumes/${sha256(img)}.nii.gz`]: img, [`volumes/${sha256(lab)}.nii.gz`]: lab };
      await expectRefused(write('no-values.zip', { 'manifest.json': seg, ...two }), /contains none of task "enhance"'s label values \(5000\)/);
    });

    test('missing manifest, unlisted entry, truncated file, conflicting task', async () => {
      await expectRefused(write('nomanifest.zip', { [`volumes/${sha256(img)}.nii.gz`]: img }), /no manifest.json/);
      await expectRefused(
        write('unlisted.zip', {
          'manifest.json': manifest([vol(img), vol(lab)]),
          [`volumes/${sha256(img)}.nii.gz`]: img,
          [`volumes/${sha256(lab)}.nii.gz`]: lab,
          [`volumes/${sha256(other)}.nii.gz`]: other,
        }),
        /is not listed in the manifest/,
      );
      const whole = readFileSync(join(dir, 'colin.zip'));
      const cut = join(dir, 'truncated.zip');
      writeFileSync(cut, whole.subarray(0, whole.length - 100));
      await expectRefused(cut, /end-of-central-directory|central directory/);
      const conflicting = manifest([vol(img), vol(lab)], { tasks: [{ name: 'hippocampus', kind: 'generation', structure: null, labels: [] }] });
      const withTask = JSON.parse(new TextDecoder().decode(conflicting));
      withTask.sets[0].task = 'hippocampus';
      await expectRefused(
        write('conflict.zip', {
          'manifest.json': strToU8(JSON.stringify(withTask)),
          [`volumes/${sha256(img)}.nii.gz`]: img,
          [`volumes/${sha256(lab)}.nii.gz`]: lab,
        }),
        /task "hippocampus" here is segmentation \[37, 38\].*nothing imported/,
      );
    });
  });
});

describe('lesion tasks in bundles', () => {
  const dir = tempDir('nv-lib-bundle-lesion-');

  test('a lesion set keeps its flag through export and import; a library whose task of that name marks anatomy refuses it', async () => {
    const a = await Library.open(join(dir, 'a'));
    const b = await Library.open(join(dir, 'b'));
    const c = await Library.open(join(dir, 'c'));
    try {
      const p = await writePair(dir, 31);
      const q = await writePair(dir, 32);
      await a.addPair({ set: 'glioma', task: { name: 'tumour', lesion: true }, scanner: 's', image: { path: p.image }, label: { path: p.label } });
      await a.addPair({ set: 'hippo', task: { name: 'hippocampus' }, scanner: 's', image: { path: q.image }, label: { path: q.label } });
      const file = join(dir, 'all.zip');
      await exportBundle(a, file);
      await importBundle(b, file);
      expect(b.listSets().map((s) => [s.name, s.task.lesion])).toEqual([
        ['glioma', true],
        ['hippo', false],
      ]);
      await exportBundle(b, join(dir, 'again.zip'));
      expect(readFileSync(join(dir, 'again.zip')).equals(readFileSync(file))).toBe(true);

      await c.addPair({ set: 'other', task: { name: 'tumour' }, scanner: 's', image: { path: q.image }, label: { path: q.label } });
      const before = snapshot(c);
      await expect(importBundle(c, file)).rejects.toThrow(
        /task "tumour" here marks anatomy \(the same structure in every head\), the bundle's a lesion \(varies in place, number and size\); rename one first \(nothing imported\)/,
      );
      expect(snapshot(c)).toEqual(before);
    } finally {
      for (const lib of [a, b, c]) lib.close();
    }
  });
});
