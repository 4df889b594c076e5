import { describe, expect, it } from 'vitest';
import { doubtOf, FUSION_IDS, FUSION_METHODS, splitX } from '../../main/fusion/methods.js';
import { METHODS } from '../../main/pipeline/defaults.js';
import { algorithmIdentification, codingSchemes } from '../../main/export/seg/provenance.js';
import { testVolume } from '../helpers/volumes.js';
import { runProvenance } from '../../main/workflow/provenance.js';

describe('fusion methods table', () => {
  it('lists every method once, under its own id, and the CLI methods follow it', () => {
    for (const id of FUSION_IDS) {
      const m = FUSION_METHODS[id];
      expect(m.id).toBe(id);
      expect(['labels', 'images']).toContain(m.needs);
      expect(m.algorithm.family.CodingSchemeDesignator).toBe('99NEUROVERSE');
      expect(METHODS).toContain(id);
    }
    expect(new Set(FUSION_IDS.map((id) => FUSION_METHODS[id].algorithm.family.CodeValue)).size).toBe(FUSION_IDS.length);
  });

  it('writes the method of the table into a DICOM-SEG: name, family, description', () => {
    const p = runProvenance('jlf', 'deformable', null, { name: 'set', pairs: [{ imageSha256: 'a', labelSha256: 'b' }] });
    const ident = algorithmIdentification(p, '1.0');
    expect(ident?.AlgorithmName).toBe('Neuroverse joint label fusion');
    expect(ident?.AlgorithmFamilyCodeSequence).toEqual([FUSION_METHODS.jlf.algorithm.family]);
    expect(String(ident?.AlgorithmParameters)).toContain('joint label fusion');
    expect(codingSchemes(p)[0].CodingSchemeDesignator).toBe('99NEUROVERSE');
    const vote = algorithmIdentification(runProvenance('vote', 'affine', null, { name: 'set', pairs: [] }), '1.0');
    expect(vote?.AlgorithmFamilyCodeSequence).toEqual([FUSION_METHODS.vote.algorithm.family]);
  });

  it('doubt is 0 where the probability is certain and full at one half', () => {
    expect(doubtOf(0)).toBe(0);
    expect(doubtOf(1)).toBe(0);
    expect(doubtOf(0.5)).toBe(255);
    expect(doubtOf(-0.1)).toBe(0);
    expect(doubtOf(0.75)).toBe(128);
  });

  it('splits a structure between its two sides, not through them', () => {
    const dims = [40, 4, 4];
    const doubt = new Uint8Array(40 * 16);
    // Disagreement at x 2–8 (one side) and 30–37 (the other), nothing between.
    for (let z = 0; z < 4; z++) for (let y = 0; y < 4; y++) for (const x of [2, 5, 8, 30, 33, 37]) doubt[x + 40 * (y + 4 * z)] = 100;
    const parts = splitX({ lo: [0, 0, 0], hi: [39, 3, 3] }, doubt, dims);
    expect(parts).toHaveLength(2);
    expect(parts[0].hi[0]).toBeGreaterThan(8);
    expect(parts[1].lo[0]).toBeLessThan(30);
    expect(parts[0].hi[0] + 1).toBe(parts[1].lo[0]);
  });
});

describe('joint fusion through the compute worker', () => {
  it('reads the aligned files, fuses where they disagree and follows the matching atlas', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { writeNifti } = await import('../../main/imaging/index.js');
    const { majorityVotes } = await import('../../main/fusion/vote.js');
    const { jointFusion } = await import('../../main/fusion/methods.js');
    const { JLF_DEFAULTS } = await import('../../main/fusion/jlf.js');
    const N = 40;
    const at = (x: number, y: number, z: number) => x + N * (y + N * z);
    let s = 7;
    const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    const cube = (lo: number, hi: number) => {
      const l = new Int16Array(N * N * N);
      for (let z = lo; z <= hi; z++) for (let y = lo; y <= hi; y++) for (let x = lo; x <= hi; x++) l[at(x, y, z)] = 17;
      return l;
    };
    const image = (label: Int16Array) => Float32Array.from(label, (v) => rnd() + (v ? 3 : 0));
    const vol = (data: Int16Array | Float32Array) => testVolume([N, N, N], data, '');
    const truth = cube(12, 27);
    const big = cube(10, 29);
    const target = vol(image(truth));
    const dir = mkdtempSync(join(tmpdir(), 'nv-jlf-'));
    try {
      const labels = [truth, big, big];
      const images = [target.data as Float32Array, image(big), image(big)];
      const pairs = [];
      for (let i = 0; i < 3; i++) {
        const imageFile = join(dir, `i${i}.nii.gz`);
        const labelFile = join(dir, `l${i}.nii.gz`);
        await writeNifti(imageFile, vol(images[i]));
        await writeNifti(labelFile, vol(labels[i]));
        pairs.push({ imageFile, labelFile, name: `pair ${i + 1}` });
      }
      const [vote] = await majorityVotes(3, async (i) => vol(labels[i]), [[17]]);
      const [fused] = await jointFusion({ target, pairs, structures: [{ labels: [17], vote }] }, { ...JLF_DEFAULTS, searchRadius: 1, regionRadius: 0 });
      let wrongVote = 0;
      let wrongJlf = 0;
      for (let i = 0; i < truth.length; i++) {
        const t = truth[i] ? 1 : 0;
        if (vote.mask[i] !== t) wrongVote++;
        if (fused.mask[i] !== t) wrongJlf++;
      }
      expect(wrongVote).toBeGreaterThan(1000);
      expect(wrongJlf).toBeLessThan(wrongVote / 20);
      // Only the band where the maps disagree was computed.
      expect(fused.computed).toBe(20 ** 3 - 16 ** 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
