import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createWorkstation } from '../../main/api/handlers.js';
import { dispatch } from '../../main/api/methods.js';
import { InputError } from '../../main/api/errors.js';
import type { ContextSetInfo, PairInfo, SetThumbnail } from '../../main/api/types.js';
import { tempDir } from '../helpers/tmp.js';
import { ROOT } from '../helpers/cli.js';
import { decodeMessage, encodeMessage } from '../../main/api/codec.js';
import { startBrowserHost } from '../../main/host/server.js';

describe('library through the typed API (open volumes → pairs, thumbnails)', () => {
  const dir = tempDir('nv-lib-api-');
  const ws = createWorkstation({ mode: 'headless', version: 'test', starter: false, dataDir: join(dir, 'data') });
  const call = <T>(method: string, ...args: unknown[]) => dispatch(ws.api, method, args) as Promise<T>;

  test('addLibraryPair from the open sample, list, thumbnail, rename, reorder, trash', async () => {
    const [t1, aal] = await ws.api.openSample();
    const pair = await call<PairInfo>('addLibraryPair', {
      set: 'colin',
      task: { name: 'aal-all' },
      scanner: 'template',
      imageVolumeId: t1.id,
      labelVolumeId: aal.id,
    });
    expect(pair.image.dims).toEqual([181, 217, 181]);
    expect(pair.imageSource).toMatch(/colin27_t1\.nii\.gz$/);
    // The library is under the data folder given to the workstation.
    expect(pair.image.path.startsWith(join(dir, 'data', 'library', 'volumes'))).toBe(true);
    let sets = await call<ContextSetInfo[]>('listContextSets');
    expect(sets.map((s) => [s.name, s.pairs.length])).toEqual([['colin', 1]]);

    const thumb = await call<SetThumbnail>('contextSetThumbnail', 'colin');
    expect([thumb.width, thumb.height, thumb.slice]).toEqual([181, 217, 90]);
    expect(thumb.gray).toBeInstanceOf(Uint8Array);
    expect(thumb.gray.length).toBe(181 * 217);
    const inMask = thumb.mask.reduce((a, v) => a + v, 0);
    expect(inMask).toBeGreaterThan(1000); // the atlas covers much of the mid slice
    expect(Math.max(...thumb.gray)).toBe(255);

    // The same pair again is refused; a label on another grid too (the brain-extracted T1 is on the same grid, so it is accepted as a second pair).
    await expect(call('addLibraryPair', { set: 'colin', task: 'aal-all', scanner: 'template', imageVolumeId: t1.id, labelVolumeId: aal.id })).rejects.toThrow(
      /already in set "colin"/,
    );
    const second = await ws.openPath(join(import.meta.dirname, '../../resources/sample/colin27_t1_brain.nii.gz'));
    if (second.kind !== 'volume') throw new Error('expected a volume');
    const p2 = await call<PairInfo>('addLibraryPair', {
      set: 'colin',
      task: 'aal-all',
      scanner: 'template',
      imageVolumeId: second.volume.id,
      labelVolumeId: aal.id,
    });

    const renamed = await call<ContextSetInfo>('renameContextSet', 'colin', 'colin27');
    expect(renamed.pairs.map((p) => p.id)).toEqual([pair.id, p2.id]);
    const reordered = await call<ContextSetInfo>('reorderLibraryPairs', 'colin27', [p2.id, pair.id]);
    expect(reordered.pairs.map((p) => [p.id, p.position])).toEqual([
      [p2.id, 1],
      [pair.id, 2],
    ]);
    await call('removeLibraryPair', p2.id);
    expect((await call<Array<{ id: number }>>('libraryTrash')).map((t) => t.id)).toEqual([p2.id]);
    await call('restoreLibraryPair', p2.id);
    await call('removeLibraryPair', p2.id);
    expect(await call('emptyLibraryTrash')).toMatchObject({ pairs: 1, volumes: 1 });
    sets = await call<ContextSetInfo[]>('listContextSets');
    expect(sets[0].pairs.map((p) => p.id)).toEqual([pair.id]);

    const bad = await call('removeLibraryPair', '1; DROP TABLE pairs').catch((e) => e);
    expect(bad).toBeInstanceOf(InputError);
    await expect(call('contextSetThumbnail', 'nope')).rejects.toThrow(/context set "nope" not found/);
  });
});

describe('library over the browser host (HTTP transport)', () => {
  const dir = tempDir('nv-lib-http-');
  test('thumbnail bytes and a grid-mismatch InputError cross the wire intact', async () => {
    const ws = createWorkstation({ mode: 'browser', version: 'test', starter: false, dataDir: join(dir, 'data') });
    const host = await startBrowserHost(ws, join(ROOT, 'renderer'));
    try {
      const call = async (method: string, args: unknown[]) => {
        const res = await fetch(`${host.url}api/call/${method}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${host.token}` },
          body: encodeMessage(args) as BodyInit,
        });
        expect(res.status).toBe(200);
        return decodeMessage(new Uint8Array(await res.arrayBuffer())) as {
          ok: boolean;
          value?: unknown;
          error?: { message: string; file?: string; code?: string };
        };
      };
      const [t1, aal] = (await call('openSample', [])).value as Array<{ id: string }>;
      const added = await call('addLibraryPair', [{ set: 'colin', task: 'atlas', scanner: 'template', imageVolumeId: t1.id, labelVolumeId: aal.id }]);
      expect(added.ok).toBe(true);
      const thumb = (await call('contextSetThumbnail', ['colin'])).value as { width: number; height: number; gray: Uint8Array; mask: Uint8Array };
      expect(thumb.gray).toBeInstanceOf(Uint8Array);
      expect(thumb.gray.length).toBe(thumb.width * thumb.height);
      expect(thumb.mask.length).toBe(thumb.width * thumb.height);
      // A label from another grid (a SynthSeg map, 256³) is refused with the label named.
      const other = await ws.openPath(resolve(ROOT, '../shared/data/synthseg-label-maps/training_seg_01.nii.gz'));
      if (other.kind !== 'volume') throw new Error('expected a volume');
      const refused = await call('addLibraryPair', [
        { set: 'colin', task: 'atlas', scanner: 'template', imageVolumeId: t1.id, labelVolumeId: other.volume.id },
      ]);
      expect(refused.ok).toBe(false);
      expect(refused.error).toMatchObject({ file: 'training_seg_01.nii.gz', code: 'grid-mismatch' });
      expect(refused.error!.message).toMatch(/grid 256×256×256 does not match the image's 181×217×181/);
    } finally {
      await host.close();
    }
  });
});
