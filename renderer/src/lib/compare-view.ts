import type { RunTaskResult } from '../../../main/api/types';
import type { CompareMode } from './compare';
import type { Session } from './session';
import type { SliceViewer, ViewLayout } from './viewer';

/**
 * The second, linked viewer of the side-by-side and swap reviews of a restored image; overlay mode needs none
 * (the restored image is then an overlay of the main viewer). Owns that viewer's life: made when a generation
 * result is reviewed in those modes, thrown away when the result or the mode changes.
 */
export class CompareView {
  private current: { viewer: SliceViewer; volumeId: string } | null = null;
  /** Clicks on the modes can overtake the awaits of `apply`: only the latest call may install a viewer. */
  private turn = 0;

  constructor(
    private readonly session: Session,
    private readonly main: SliceViewer,
    private readonly make: () => SliceViewer,
  ) {}

  /**
   * Brings the view in line with `mode` for `result`: in overlay mode the restored overlay is shown and no
   * second viewer exists; otherwise the overlay is hidden and the restored image gets the second viewer, on
   * the canvas that `canvas()` returns once `pageReady()` has let the page add it.
   */
  async apply(
    result: RunTaskResult | null,
    mode: CompareMode,
    layout: ViewLayout,
    pageReady: () => Promise<void>,
    canvas: () => HTMLCanvasElement | undefined,
  ): Promise<void> {
    const turn = ++this.turn;
    const r = result?.task === 'generate' ? result : null;
    if (r) this.session.updateOverlay(r.volumeId, { visible: mode === 'overlay' });
    if (!r || mode === 'overlay') return this.close();
    await pageReady();
    const target = canvas();
    if (this.current?.volumeId === r.volumeId || !target || turn !== this.turn) return;
    this.close();
    const [info] = await this.session.lookup([r.volumeId]);
    if (!info || turn !== this.turn) return;
    const second = this.make();
    // The viewer is kept only once it is drawn, so a failure or a newer turn leaves no half-made viewer behind.
    const stale = () => turn !== this.turn || canvas() !== target;
    try {
      await second.attach(target);
      const bytes = await this.session.nifti(info.id);
      if (stale()) return second.dispose();
      await second.setBase(info, bytes);
      if (stale()) return second.dispose();
    } catch (err) {
      second.dispose();
      throw err;
    }
    second.setLayout(layout);
    this.main.link(second);
    this.current = { viewer: second, volumeId: r.volumeId };
    await second.frameDrawn();
  }

  close(): void {
    if (!this.current) return;
    this.main.unlink();
    this.current.viewer.dispose();
    this.current = null;
  }

  setLayout(layout: ViewLayout): void {
    this.current?.viewer.setLayout(layout);
  }

  /** The second viewer's tiles (end-to-end tests and diagnostics); none without one. */
  tiles(): ReturnType<SliceViewer['tiles']> {
    return this.current?.viewer.tiles() ?? [];
  }
}
