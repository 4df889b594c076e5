import { describe, expect, test } from 'vitest';
import type { OpenResult } from '../../main/api/types.js';
import { Opener } from '../../renderer/src/lib/opening.js';
import { Session } from '../../renderer/src/lib/session.js';
import { deferred, FakeSource, FakeView, settle, volume } from './fake-view.js';

function setup() {
  const source = new FakeSource([volume('colin27'), volume('colin27_aal', 'label'), volume('ge-series'), volume('seg', 'label'), volume('mask', 'label')]);
  const view = new FakeView();
  const session = new Session(source, view);
  let draws = 0;
  const opener = new Opener(session, async () => void draws++);
  const get = (id: string) => source.known.find((v) => v.id === id)!;
  const seriesWithSeg: OpenResult = { kind: 'volume', volume: get('ge-series'), overlays: [get('seg')] };
  return { source, view, session, opener, get, seriesWithSeg, draws: () => draws };
}

describe('opening volumes', () => {
  test('start-up shows what the services hold: the image as base, the rest over it', async () => {
    const { source, view, opener, draws } = setup();
    const o = await opener.restore(async () => source.known.slice(0, 2));
    expect(o).toEqual({ kind: 'shown', problems: [] });
    expect(view.ids()).toEqual(['colin27', 'colin27_aal']);
    expect(draws()).toBe(2);
    expect(await opener.restore(async () => [])).toEqual({ kind: 'nothing' });
  });

  // The race the e2e test of open-seg worked around: the user opens a series before the start-up sample is in.
  test('a series opened while the start-up sample is still loading gets only its own overlays', async () => {
    const { source, view, session, opener, seriesWithSeg } = setup();
    const releaseAtlas = source.hold('colin27_aal');
    const startup = opener.restore(async () => source.known.slice(0, 2));
    await settle();
    await settle();
    expect(view.ids()).toEqual(['colin27']); // the sample's T1 is in, its atlas still coming
    const user = await opener.result(async () => seriesWithSeg, 'image');
    expect(user).toEqual({ kind: 'shown', problems: [] });
    releaseAtlas();
    expect(await startup).toEqual({ kind: 'overtaken' });
    expect(view.ids()).toEqual(['ge-series', 'seg']);
    expect(session.current.overlays.map((o) => o.info.id)).toEqual(['seg']);
  });

  test('the start-up listing answered after the user clicked open: the sample never shows over the series', async () => {
    const { source, view, opener, seriesWithSeg } = setup();
    const listing = deferred<void>();
    const startup = opener.restore(async () => {
      await listing.promise;
      return source.known.slice(0, 2);
    });
    const answer = deferred<OpenResult>();
    const user = opener.result(() => answer.promise, 'image');
    answer.resolve(seriesWithSeg);
    expect(await user).toEqual({ kind: 'shown', problems: [] });
    listing.resolve();
    expect(await startup).toEqual({ kind: 'overtaken' });
    expect(view.ids()).toEqual(['ge-series', 'seg']);
  });

  test('a user open that ends without a base (cancelled dialog, series to pick) leaves the sample whole', async () => {
    const { source, view, opener } = setup();
    const releaseAtlas = source.hold('colin27_aal');
    const startup = opener.restore(async () => source.known.slice(0, 2));
    expect(await opener.result(async () => null, 'image')).toEqual({ kind: 'nothing' });
    const pick: OpenResult = { kind: 'choose-series', pendingId: 'p1', folder: 'study', series: [] };
    expect(await opener.result(async () => pick, 'image')).toEqual({ ...pick, role: 'image' });
    releaseAtlas();
    expect((await startup).kind).toBe('shown');
    expect(view.ids()).toEqual(['colin27', 'colin27_aal']);
  });

  test('a label volume joins the open image whichever button opened it; an image from Open replaces it', async () => {
    const { view, opener, get } = setup();
    await opener.result(async () => ({ kind: 'volume', volume: get('colin27') }), 'image');
    // A SEG opened with Open file comes back as a label volume on the open image.
    const o = await opener.result(async () => ({ kind: 'volume', volume: get('seg'), problems: ['one frame skipped'] }), 'image');
    expect(o).toEqual({ kind: 'shown', problems: ['one frame skipped'] });
    // Add overlay with further SEGs of the same open.
    await opener.result(async () => ({ kind: 'volume', volume: get('mask'), overlays: [get('colin27_aal')] }), 'label');
    expect(view.ids()).toEqual(['colin27', 'seg', 'mask', 'colin27_aal']);
    await opener.result(async () => ({ kind: 'volume', volume: get('ge-series') }), 'image');
    expect(view.ids()).toEqual(['ge-series']);
  });

  test('the sample opens as its T1 with the atlas', async () => {
    const { view, opener, get } = setup();
    await opener.result(async () => ({ kind: 'volume', volume: get('ge-series') }), 'image');
    expect(await opener.sample(async () => [get('colin27'), get('colin27_aal')])).toEqual({ kind: 'shown', problems: [] });
    expect(view.ids()).toEqual(['colin27', 'colin27_aal']);
  });
});
