import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ASEG_STRUCTURES, asegName, asegStructure, structuresIn } from '../../main/common/aseg-names.js';
import { readNifti } from '../../main/imaging/index.js';
import { chooseDefaultSet } from '../../main/library/default-set.js';
import { ensureStarterSet, Library, LibraryService, readStarterManifest, starterDir, STARTER_AUDIT_ACTION } from '../../main/library/index.js';
import { VolumeStore } from '../../main/session/volume-store.js';
import { resourcesDir } from '../../main/settings/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { writePair } from './fixtures.js';

const bundled = starterDir(resourcesDir());
const tmp = tempDir();

describe('the bundled starter library', () => {
  test('its manifest names a segmentation set of aseg label maps whose files exist, uint8 on their image grid', async () => {
    const m = readStarterManifest(bundled)!;
    expect(m).not.toBeNull();
    expect(m.taskKind).toBe('segment');
    expect(m.licence).toMatch(/Apache-2\.0/);
    expect(m.pairs.length).toBeGreaterThan(4);
    expect(existsSync(join(bundled, 'LICENSE.txt'))).toBe(true);
    const label = await readNifti(join(bundled, m.pairs[0].label));
    const image = await readNifti(join(bundled, m.pairs[0].image));
    expect(label.data).toBeInstanceOf(Uint8Array);
    expect(label.dims.slice(0, 3)).toEqual(image.dims.slice(0, 3));
    const values = new Set(label.data);
    for (const v of [17, 53, 10, 49, 4, 43, 12, 51]) expect(values.has(v)).toBe(true);
    // Only named aseg values: no extra-cerebral source labels (skull, scalp) leak into the label maps.
    for (const v of values) if (v !== 0) expect(asegName(v), `label ${v}`).toBeDefined();
  });

  test('a fresh library gets the starter set once; a second open adds nothing; a set the user emptied stays empty', async () => {
    const dir = join(tmp, 'lib1');
    const service = new LibraryService(dir, new VolumeStore(), bundled);
    const sets = await service.listContextSets();
    const m = readStarterManifest(bundled)!;
    expect(sets.map((s) => s.name)).toEqual([m.set]);
    expect(sets[0].pairs).toHaveLength(m.pairs.length);
    expect(sets[0].scanner.name).toBe(m.scanner);
    await service.close();

    const again = new LibraryService(dir, new VolumeStore(), bundled);
    expect((await again.listContextSets())[0].pairs).toHaveLength(m.pairs.length);
    const lib = await again.library();
    expect(lib.listAudit(1000).filter((a) => a.action === STARTER_AUDIT_ACTION)).toHaveLength(1);
    for (const p of lib.requireSet(m.set).pairs) lib.removePair(p.id);
    await again.close();

    const third = await Library.open(dir);
    try {
      expect(await ensureStarterSet(third, bundled)).toMatchObject({ added: 0, skipped: 'installed-before' });
      expect(third.requireSet(m.set).pairs).toHaveLength(0);
    } finally {
      third.close();
    }
  });

  test("a user's set of the same name is never touched", async () => {
    const dir = join(tmp, 'lib2');
    const m = readStarterManifest(bundled)!;
    const lib = await Library.open(dir);
    try {
      const p = await writePair(tmp, 3, { values: [17, 53] });
      await lib.addPair({ set: m.set, task: 'my hippocampus', scanner: 'my scanner', image: { path: p.image }, label: { path: p.label } });
      expect(await ensureStarterSet(lib, bundled)).toMatchObject({ added: 0, skipped: 'name-taken' });
      const set = lib.requireSet(m.set);
      expect(set.pairs).toHaveLength(1);
      expect(set.task.name).toBe('my hippocampus');
    } finally {
      lib.close();
    }
  });
});

describe('a new version of the starter set', () => {
  /** A starter folder (named as the app's) of version `version` whose pairs are drawn with `seeds`. */
  async function starterVersion(root: string, version: number, seeds: number[]): Promise<string> {
    const dir = join(root, `v${version}`, 'starter-library');
    mkdirSync(dir, { recursive: true });
    const pairs = [];
    for (const seed of seeds) {
      await writePair(dir, seed, { values: [17, 53] });
      pairs.push({ image: `img-${seed}.nii.gz`, label: `lab-${seed}.nii.gz` });
    }
    const m = {
      format: 'neuroverse-starter-library',
      version,
      set: 'Tiny (starter)',
      task: 'tiny',
      taskKind: 'segment',
      structure: 'aseg',
      scanner: 'synthetic',
      labels: [17, 53],
      licence: 'test',
      pairs,
    };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    return dir;
  }

  test("replaces the earlier version's pairs (to the trash) and keeps the user's own pair in the set", async () => {
    const root = join(tmp, 'upgrade');
    const lib = await Library.open(join(root, 'lib'));
    try {
      const v1 = await starterVersion(root, 1, [21, 22]);
      expect(await ensureStarterSet(lib, v1)).toMatchObject({ added: 2 });
      const mine = await writePair(root, 23, { values: [17, 53] });
      await lib.addPair({ set: 'Tiny (starter)', task: 'tiny', scanner: 'synthetic', image: { path: mine.image }, label: { path: mine.label } });
      const v2 = await starterVersion(root, 2, [31, 32]);
      expect(await ensureStarterSet(lib, v2)).toMatchObject({ added: 2, replaced: 2 });
      const sources = lib.requireSet('Tiny (starter)').pairs.map((p) => p.imageSource);
      expect(sources.sort()).toEqual([mine.image, join(v2, 'img-31.nii.gz'), join(v2, 'img-32.nii.gz')].sort());
      expect(await ensureStarterSet(lib, v2)).toMatchObject({ added: 0, skipped: 'installed-before' });
    } finally {
      lib.close();
    }
  });

  test('is not added where the user removed every pair of the earlier one', async () => {
    const root = join(tmp, 'upgrade-emptied');
    const lib = await Library.open(join(root, 'lib'));
    try {
      await ensureStarterSet(lib, await starterVersion(root, 1, [41]));
      for (const p of lib.requireSet('Tiny (starter)').pairs) lib.removePair(p.id);
      expect(await ensureStarterSet(lib, await starterVersion(root, 2, [42]))).toMatchObject({ added: 0, skipped: 'installed-before' });
      expect(lib.requireSet('Tiny (starter)').pairs).toHaveLength(0);
    } finally {
      lib.close();
    }
  });
});

describe('aseg structure names', () => {
  test('a name without a side means both sides; with one, that side; spelling does not matter', () => {
    expect(asegStructure('hippocampus')?.labels).toEqual([17, 53]);
    expect(asegStructure('Hippocampus ')?.labels).toEqual([17, 53]);
    expect(asegStructure('lateral ventricle')?.labels).toEqual([4, 43]);
    expect(asegStructure('left putamen')?.labels).toEqual([12]);
    expect(asegStructure('Right-Hippocampus')?.labels).toEqual([53]);
    expect(asegStructure('Left-Thalamus-Proper')?.labels).toEqual([10]);
    expect(asegStructure('ventricles')?.labels).toEqual([4, 43]);
    expect(asegStructure('hipocampus')).toBeUndefined();
    expect(asegName(17)).toBe('Left-Hippocampus');
    expect(asegName(999)).toBeUndefined();
  });

  test('the structures a set can run are those whose every value its labels hold', () => {
    expect(structuresIn([17, 53, 10]).map((s) => s.name)).toEqual(['hippocampus']);
    expect(structuresIn(ASEG_STRUCTURES.flatMap((s) => s.labels))).toHaveLength(ASEG_STRUCTURES.length);
  });
});

describe('the set a run without a named context uses', () => {
  test("the scanner's set first, then the user's own, the starter last; a set without the labels never", async () => {
    const dir = join(tmp, 'lib3');
    const lib = await Library.open(dir);
    try {
      await ensureStarterSet(lib, bundled);
      const starter = readStarterManifest(bundled)!.set;
      const p1 = await writePair(tmp, 11, { values: [17, 53] });
      const p2 = await writePair(tmp, 12, { values: [17, 53] });
      const p3 = await writePair(tmp, 13, { values: [4] });
      await lib.addPair({ set: 'A mine', task: 'hip', scanner: 'one', image: { path: p1.image }, label: { path: p1.label } });
      await lib.addPair({
        set: 'B siemens',
        task: 'hip',
        scanner: { name: 'prisma', manufacturer: 'SIEMENS', model: 'Prisma' },
        image: { path: p2.image },
        label: { path: p2.label },
      });
      await lib.addPair({ set: 'C ventricle', task: 'vent', scanner: 'one', image: { path: p3.image }, label: { path: p3.label } });
      const sets = lib.listSets();
      const pick = (labels: number[], dicom?: Record<string, unknown>) => chooseDefaultSet(sets, { labels, dicom, starter });
      expect(pick([17, 53], { manufacturer: 'SIEMENS', model: 'Prisma' })?.set.name).toBe('B siemens');
      expect(pick([17, 53])).toMatchObject({ set: { name: 'A mine' }, starter: false });
      // Only the starter holds the thalamus: it is used, and said to be the starter.
      expect(pick([10, 49])).toMatchObject({ set: { name: starter }, starter: true });
      expect(pick([9999])).toBeNull();
      // A lesion set (first by name) answers only lesion runs; anatomy runs never land on it.
      const p4 = await writePair(tmp, 14, { values: [1] });
      await lib.addPair({ set: '0 tumour', task: { name: 'tumour', lesion: true }, scanner: 'one', image: { path: p4.image }, label: { path: p4.label } });
      const withLesion = lib.listSets();
      expect(chooseDefaultSet(withLesion, { starter })?.set.name).toBe('A mine');
      expect(chooseDefaultSet(withLesion, { lesion: true, starter })).toMatchObject({ set: { name: '0 tumour' }, reason: 'your own lesion set' });
      expect(chooseDefaultSet(withLesion, { lesion: true, labels: [17], starter })).toBeNull();
    } finally {
      lib.close();
    }
  });
});
