import { describe, expect, test } from 'vitest';
import { Session, type SessionState } from '../../renderer/src/lib/session.js';
import { FakeSource, FakeView, runResult, settle, volume } from './fake-view.js';

function setup(...ids: [string, ('image' | 'label' | 'probability')?][]) {
  const source = new FakeSource(ids.map(([id, role]) => volume(id, role ?? 'image')));
  const view = new FakeView();
  const session = new Session(source, view);
  const get = (id: string) => source.known.find((v) => v.id === id)!;
  return { source, view, session, get };
}

describe('the session store', () => {
  test('a base replaces everything; overlays join it in label or warm colours; subscribers see each change', async () => {
    const { view, session, get } = setup(['t1'], ['atlas', 'label'], ['map', 'probability'], ['t2']);
    const seen: SessionState[] = [];
    session.subscribe((s) => seen.push(s));
    expect(seen).toHaveLength(1); // the store contract: the current state at once

    await session.open(async (t) => {
      expect(await session.setBase(t, get('t1'))).toBe(true);
      expect(await session.addOverlay(t, get('atlas'))).toBe(true);
      expect(await session.addOverlay(t, get('map'))).toBe(true);
    });
    expect(view.shown.map((v) => [v.id, v.colormap])).toEqual([
      ['t1', 'gray'],
      ['atlas', 'labels'],
      ['map', 'warm'],
    ]);
    expect(session.current.base?.id).toBe('t1');
    expect(session.current.overlays.map((o) => [o.info.id, o.colormap, o.opacity, o.visible])).toEqual([
      ['atlas', 'labels', 0.5, true],
      ['map', 'warm', 0.5, true],
    ]);
    expect(session.current.window).toEqual([0, 10]);
    expect([...session.current.volumes.keys()].sort()).toEqual(['atlas', 'map', 't1']);
    expect(seen.at(-1)).toBe(session.current);

    await session.open(async (t) => session.setBase(t, get('t2')));
    expect(view.ids()).toEqual(['t2']);
    expect(session.current.overlays).toEqual([]);
  });

  test('an overlay with no base on screen is not shown (it would become the base in the viewer)', async () => {
    const { view, session, get } = setup(['atlas', 'label']);
    expect(await session.open((t) => session.addOverlay(t, get('atlas')))).toBe(false);
    expect(view.shown).toEqual([]);
  });

  test('opens overtaken by a later base are dropped, before and after their own base is shown', async () => {
    const { source, view, session, get } = setup(['sample'], ['aal', 'label'], ['series'], ['seg', 'label']);
    // The start-up open shows its base, then its atlas is slow to come.
    const releaseAtlas = source.hold('aal');
    const startup = session.open(async (t) => {
      await session.setBase(t, get('sample'));
      return session.addOverlay(t, get('aal'));
    });
    await settle();
    await settle();
    expect(view.ids()).toEqual(['sample']);
    // Meanwhile the user opens a series with its SEG.
    await session.open(async (t) => {
      await session.setBase(t, get('series'));
      await session.addOverlay(t, get('seg'));
    });
    expect(session.pending).toBe(1);
    releaseAtlas();
    expect(await startup).toBe(false);
    expect(session.pending).toBe(0);
    expect(view.ids()).toEqual(['series', 'seg']);
    expect(session.current.overlays.map((o) => o.info.id)).toEqual(['seg']);
  });

  test('an older open whose base comes last does not replace the newer one', async () => {
    const { source, view, session, get } = setup(['sample'], ['series']);
    const releaseSample = source.hold('sample');
    const startup = session.open((t) => session.setBase(t, get('sample')));
    await session.open((t) => session.setBase(t, get('series')));
    releaseSample();
    expect(await startup).toBe(false);
    expect(view.ids()).toEqual(['series']);
    expect(session.current.base?.id).toBe('series');
  });

  test('an overlay meant for one base is dropped when another base was shown meanwhile', async () => {
    const { source, view, session, get } = setup(['a'], ['b'], ['seg', 'label']);
    await session.open((t) => session.setBase(t, get('a')));
    const releaseSeg = source.hold('seg');
    const addSeg = session.open((t) => session.addOverlay(t, get('seg')));
    await session.open((t) => session.setBase(t, get('b')));
    releaseSeg();
    expect(await addSeg).toBe(false);
    expect(view.ids()).toEqual(['b']);
  });

  test('viewer changes run one at a time, however the fetches finish', async () => {
    const { view, session, get } = setup(['a'], ['x', 'label'], ['y', 'label'], ['z', 'label']);
    await session.open((t) => session.setBase(t, get('a')));
    // Three overlays of one open asked for together: their loads must not overlap inside the viewer.
    await session.open((t) => Promise.all(['x', 'y', 'z'].map((id) => session.addOverlay(t, get(id)))));
    expect(view.maxLoading).toBe(1);
    expect(view.ids()).toEqual(['a', 'x', 'y', 'z']);
  });

  test('viewer changes wait for the viewer to be ready; the request to the services does not', async () => {
    const { source, view, session, get } = setup(['a']);
    let ready!: () => void;
    session.waitFor(new Promise<void>((r) => (ready = r)));
    const shown = session.open((t) => session.setBase(t, get('a')));
    await settle();
    expect(source.fetches).toEqual(['a']);
    expect(view.shown).toEqual([]);
    ready();
    expect(await shown).toBe(true);
    expect(view.ids()).toEqual(['a']);
  });

  test('a result is fetched once: the overlay, the compare viewer and the drawing layer share its bytes', async () => {
    const { source, view, session, get } = setup(['t1'], ['result', 'label'], ['doubt', 'probability']);
    await session.open((t) => session.setBase(t, get('t1')));
    source.fetches.length = 0;
    expect(await session.showResult(runResult('result', 'segment', 'doubt'), 't1')).toBe(true);
    expect(view.ids()).toEqual(['t1', 'result', 'doubt']);
    expect(session.current.result?.volumeId).toBe('result');
    const [a, b] = [await session.nifti('result'), await session.nifti('result')];
    expect(a).toBe(b);
    expect(a[0]).toBe(1);
    expect(source.fetches.sort()).toEqual(['doubt', 'result']);
    expect(source.listCalls).toBe(1); // both infos from one listing
    // A volume that is not the result is fetched each time (the store does not hold every image's bytes).
    await session.nifti('t1');
    expect(source.fetches.filter((id) => id === 't1')).toHaveLength(1);
  });

  test('a new result replaces the previous one; a new base drops the result and its kept bytes', async () => {
    const { source, view, session, get } = setup(['t1'], ['atlas', 'label'], ['r1', 'label'], ['r2', 'label'], ['t2']);
    await session.open(async (t) => {
      await session.setBase(t, get('t1'));
      await session.addOverlay(t, get('atlas'));
    });
    await session.showResult(runResult('r1'), 't1');
    await session.showResult(runResult('r2'), 't1');
    expect(view.ids()).toEqual(['t1', 'atlas', 'r2']);
    expect(session.current.overlays.map((o) => o.info.id)).toEqual(['atlas', 'r2']);
    await session.open((t) => session.setBase(t, get('t2')));
    expect(session.current.result).toBeNull();
    source.fetches.length = 0;
    await session.nifti('r2');
    expect(source.fetches).toEqual(['r2']);
  });

  test('a result computed on an image that is no longer the base is not shown', async () => {
    const { source, view, session, get } = setup(['t1'], ['t2'], ['r1', 'label']);
    source.listCalls = 0;
    await session.open((t) => session.setBase(t, get('t1')));
    await session.open((t) => session.setBase(t, get('t2')));
    expect(await session.showResult(runResult('r1'), 't1')).toBe(false);
    expect(view.ids()).toEqual(['t2']);
    expect(session.current.result).toBeNull();
    // Nor one whose volume the services do not list.
    expect(await session.showResult(runResult('not-listed'), 't2')).toBe(false);
    expect(source.listCalls).toBe(2);
  });

  test('overlay settings reach the viewer: hidden means opacity 0, shown again at its own opacity', async () => {
    const { view, session, get } = setup(['t1'], ['atlas', 'label']);
    await session.open(async (t) => {
      await session.setBase(t, get('t1'));
      await session.addOverlay(t, get('atlas'));
    });
    session.updateOverlay('atlas', { opacity: 0.8 });
    expect(view.shown[1].opacity).toBe(0.8);
    session.updateOverlay('atlas', { visible: false });
    expect(view.shown[1].opacity).toBe(0);
    expect(session.current.overlays[0]).toMatchObject({ opacity: 0.8, visible: false });
    session.updateOverlay('atlas', { visible: true, colormap: 'hot' });
    expect(view.shown[1]).toMatchObject({ opacity: 0.8, colormap: 'hot' });
    session.updateOverlay('gone', { opacity: 0.1 }); // an overlay no longer open: nothing happens
    session.setWindow(2, 4);
    expect(view.window).toEqual([2, 4]);
    expect(session.current.window).toEqual([2, 4]);
  });
});
