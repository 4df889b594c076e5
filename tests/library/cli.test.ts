import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { neuroverse } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { writePair } from './fixtures.js';

// Runs bin/neuroverse.js over dist/: `npm run build:node` first.
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

describe('neuroverse library (CLI)', () => {
  const dir = tempDir('nv-lib-cli-');
  const inputs = join(dir, 'in');
  mkdirSync(inputs);
  const libA = join(dir, 'libA');
  // The bundled starter set would be listed beside the sets made here: these tests count their own.
  const env = { NEUROVERSE_LIBRARY: libA, NEUROVERSE_DATA_DIR: '', NEUROVERSE_STARTER: 'off' };

  test('add-pair creates the set on first use; list --json shows each volume sha256', async () => {
    const p1 = await writePair(inputs, 1, { values: [17, 53] });
    const p2 = await writePair(inputs, 2, { values: [17] });
    let r = neuroverse(
      ['library', 'add-pair', '--set', 'hip-3T', '--task', 'hippocampus', '--label', '17', '--label', '53', '--scanner', 'Prisma', p1.image, p1.label],
      env,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/pair 1 added to set "hip-3T" as #1/);
    r = neuroverse(['library', 'add-pair', '--set', 'hip-3T', '--task', 'hippocampus', '--scanner', 'Prisma', p2.image, p2.label], env);
    expect(r.code).toBe(0);
    r = neuroverse(['library', 'list', '--json'], env);
    expect(r.code).toBe(0);
    const listed = JSON.parse(r.stdout);
    expect(listed.library).toBe(libA);
    expect(listed.sets).toHaveLength(1);
    const [set] = listed.sets;
    expect(set).toMatchObject({ name: 'hip-3T', task: { name: 'hippocampus', kind: 'segmentation', labels: [17, 53] }, scanner: { name: 'Prisma' } });
    expect(set.pairs.map((p: { image: { sha256: string }; label: { sha256: string } }) => [p.image.sha256, p.label.sha256])).toEqual([
      [sha(p1.image), sha(p1.label)],
      [sha(p2.image), sha(p2.label)],
    ]);
    r = neuroverse(['library', 'list'], env);
    expect(r.stdout).toContain(sha(p2.label));
  });

  test('bad input is one clear line and exit code 1 (or 2 for usage)', async () => {
    const p = await writePair(inputs, 3, { labelOrigin: [-8, -8, -6] });
    let r = neuroverse(['library', 'add-pair', '--set', 'hip-3T', '--task', 'hippocampus', '--scanner', 'Prisma', p.image, p.label], env);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `neuroverse library: ${p.label}: voxel-to-world transform differs from the image's by up to 2.00 mm (tolerance 0.001 mm): the label is on another grid (${p.image}); resample the label onto the image first`,
    );
    r = neuroverse(['library', 'add-pair', '--set', 'x', p.image, p.label], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/add-pair needs --set, --task and --scanner/);
    r = neuroverse(['library', 'export', join(dir, 'none.zip'), '--set', 'nope'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/context set "nope" not found .*sets: hip-3T/);
  });

  test('remove-pair → trash list → trash empty', () => {
    let r = neuroverse(['library', 'remove-pair', '2'], env);
    expect(r.code).toBe(0);
    r = neuroverse(['library', 'trash', 'list', '--json'], env);
    const trash = JSON.parse(r.stdout);
    expect(trash.map((t: { id: number; setName: string }) => [t.id, t.setName])).toEqual([[2, 'hip-3T']]);
    expect(existsSync(trash[0].label.path)).toBe(true);
    r = neuroverse(['library', 'trash', 'empty'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1 pair\(s\) deleted, 2 volume file\(s\)/);
    expect(existsSync(trash[0].label.path)).toBe(false);
    r = neuroverse(['library', 'check'], env);
    expect(r.stdout.trim()).toBe(`${libA}: ok`);
  });

  test('export and import between two libraries (--library flag; XDG default location)', () => {
    const bundle = join(dir, 'hip.zip');
    let r = neuroverse(['library', 'export', bundle, '--set', 'hip-3T'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1 set\(s\), 1 pair\(s\), 2 volume file\(s\)/);
    // No --library and no NEUROVERSE_LIBRARY: the XDG data folder.
    const xdg = join(dir, 'xdg');
    const xdgEnv = { NEUROVERSE_LIBRARY: '', NEUROVERSE_DATA_DIR: '', XDG_DATA_HOME: xdg };
    r = neuroverse(['library', 'import', bundle], xdgEnv);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/set "hip-3T" \(new\): 1 pair\(s\) added, 0 already there/);
    expect(existsSync(join(xdg, 'neuroverse-workstation', 'library', 'library.db'))).toBe(true);
    // --library wins over the environment.
    r = neuroverse(['library', '--library', join(xdg, 'neuroverse-workstation', 'library'), 'import', bundle], env);
    expect(r.stdout).toMatch(/0 pair\(s\) added, 1 already there/);
    r = neuroverse(['library', 'export', join(dir, 'hip-again.zip'), '--set', 'hip-3T'], xdgEnv);
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'hip-again.zip')).equals(readFileSync(bundle))).toBe(true);
  });

  test('add-pair --lesion makes a lesion task, listed and carried by bundles; contradicting it is refused', async () => {
    const p = await writePair(inputs, 21);
    const q = await writePair(inputs, 22);
    let r = neuroverse(['library', 'add-pair', '--set', 'glioma-3T', '--task', 'tumour', '--lesion', '--scanner', 'Prisma', p.image, p.label], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // A later pair of the task need not say it again.
    r = neuroverse(['library', 'add-pair', '--set', 'glioma-3T', '--task', 'tumour', '--scanner', 'Prisma', q.image, q.label], env);
    expect(r.code).toBe(0);
    r = neuroverse(['library', 'list', '--json'], env);
    const sets = JSON.parse(r.stdout).sets as Array<{ name: string; task: { lesion: boolean }; pairs: unknown[] }>;
    expect(sets.map((s) => [s.name, s.task.lesion, s.pairs.length])).toEqual([
      ['glioma-3T', true, 2],
      ['hip-3T', false, 1],
    ]);
    expect(neuroverse(['library', 'list'], env).stdout).toMatch(/set "glioma-3T" {2}task tumour \(segmentation, lesion\)/);
    r = neuroverse(['library', 'add-pair', '--set', 'hip-3T', '--task', 'hippocampus', '--lesion', '--scanner', 'Prisma', q.image, q.label], env);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      'neuroverse library: task "hippocampus" marks anatomy (the same structure in every head), not a lesion (varies in place, number and size): give the other kind of label a task of its own',
    );
    r = neuroverse(
      ['library', 'add-pair', '--set', 'denoise', '--task', 'denoise', '--kind', 'generation', '--lesion', '--scanner', 'Prisma', q.image, q.image],
      env,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/generation task "denoise" cannot mark a lesion/);

    const bundle = join(dir, 'glioma.zip');
    expect(neuroverse(['library', 'export', bundle, '--set', 'glioma-3T'], env).code).toBe(0);
    const libC = { ...env, NEUROVERSE_LIBRARY: join(dir, 'libC') };
    expect(neuroverse(['library', 'import', bundle], libC).code).toBe(0);
    expect(JSON.parse(neuroverse(['library', 'list', '--json'], libC).stdout).sets[0]).toMatchObject({
      name: 'glioma-3T',
      task: { name: 'tumour', lesion: true },
    });
  });
});
