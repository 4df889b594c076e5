import type { RunTaskResult, VolumeInfo } from '../../../main/api/types.js';
import type { Overlay, OverlayColormap } from './overlay.js';

/** The store's share of the typed API. */
export interface VolumeSource {
  listVolumes(): Promise<VolumeInfo[]>;
  volumeNifti(id: string): Promise<Uint8Array>;
}

/** The store's share of the viewer (SliceViewer has it); a plain interface so the store is tested without WebGL. */
export interface View {
  setBase(info: VolumeInfo, nifti: Uint8Array): Promise<void>;
  addOverlay(info: VolumeInfo, nifti: Uint8Array, colormap: OverlayColormap, opacity: number): Promise<void>;
  removeOverlay(id: string): void;
  setOverlayColormap(id: string, colormap: OverlayColormap, info: VolumeInfo): void;
  setOpacity(id: string, opacity: number): void;
  getWindow(): [number, number];
  setWindow(min: number, max: number): void;
}

export interface SessionState {
  /** Every volume the renderer has been told of, by id: the services' list and each open's answer. */
  volumes: ReadonlyMap<string, VolumeInfo>;
  base: VolumeInfo | null;
  overlays: Overlay[];
  /** The last run's result on this base; its volumes are among the overlays. */
  result: RunTaskResult | null;
  /** Window/level of the base in real units. */
  window: [number, number];
}

/**
 * One open in flight. `seq` orders opens by when they began; `onto` is the open whose base was on screen
 * then, which an open that only adds overlays must still find on screen when its volume arrives.
 */
export interface OpenTicket {
  readonly seq: number;
  readonly onto: number;
}

const OVERLAY_OPACITY = 0.5;

/**
 * What the renderer shows, in one place: the base, its overlays and the current result. Every open holds a
 * ticket, and once a later open has put its own base on screen the earlier one's remaining volumes are
 * dropped: the sample the host opens at start-up can still be loading when the user opens a series, and
 * its atlas must not land on that series.
 */
export class Session {
  private state: SessionState = { volumes: new Map(), base: null, overlays: [], result: null, window: [0, 1] };
  private readonly listeners = new Set<(s: SessionState) => void>();
  private issued = 0;
  /** The ticket whose base is on screen (0: none yet). */
  private shown = 0;
  private inFlight = 0;
  /** Viewer changes run one at a time: two loads interleaved inside NiiVue would mix their volumes. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The result's volumes as NIfTI bytes: the overlay, the compare viewer and the drawing layer share one fetch. */
  private kept = new Map<string, Promise<Uint8Array>>();

  constructor(
    private readonly source: VolumeSource,
    private readonly view: View,
  ) {}

  get current(): SessionState {
    return this.state;
  }

  /** Opens not yet finished (the e2e checks wait for none before asserting what was dropped). */
  get pending(): number {
    return this.inFlight;
  }

  /** The Svelte store contract, so components read `$session`. */
  subscribe(run: (s: SessionState) => void): () => void {
    run(this.state);
    this.listeners.add(run);
    return () => this.listeners.delete(run);
  }

  private set(patch: Partial<SessionState>) {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l(this.state);
  }

  private remember(...list: VolumeInfo[]): ReadonlyMap<string, VolumeInfo> {
    const volumes = new Map(this.state.volumes);
    for (const v of list) volumes.set(v.id, v);
    return volumes;
  }

  private step<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Holds viewer changes until `ready` settles (the canvas attach), while opens may already be asking the services. */
  waitFor(ready: Promise<unknown>) {
    // A failed attach is reported where it is awaited; later changes then fail on their own.
    this.step(() => ready).catch(() => undefined);
  }

  /** Runs one open (from before its request to the services) under a fresh ticket. */
  async open<T>(work: (t: OpenTicket) => Promise<T>): Promise<T> {
    const t: OpenTicket = { seq: ++this.issued, onto: this.shown };
    this.inFlight++;
    try {
      return await work(t);
    } finally {
      this.inFlight--;
    }
  }

  /** An open may replace the base unless a later open has already shown its own. */
  private mayReplace(t: OpenTicket) {
    return t.seq >= this.shown;
  }

  /** An open may add to the base it showed, or to the one on screen when it began. */
  private mayAdd(t: OpenTicket) {
    return this.state.base !== null && (this.shown === t.seq || this.shown === t.onto);
  }

  /** Shows `v` alone (a result belongs to the image it was computed on); false when a later open overtook this one. */
  async setBase(t: OpenTicket, v: VolumeInfo): Promise<boolean> {
    if (!this.mayReplace(t)) return false;
    const bytes = await this.source.volumeNifti(v.id);
    return this.step(async () => {
      if (!this.mayReplace(t)) return false;
      await this.view.setBase(v, bytes);
      this.shown = t.seq;
      this.kept.clear();
      this.set({ base: v, overlays: [], result: null, window: this.view.getWindow(), volumes: this.remember(v) });
      return true;
    });
  }

  /** Adds `v` over the base: a label map in label colours, anything else in a warm map. */
  async addOverlay(t: OpenTicket, v: VolumeInfo): Promise<boolean> {
    if (!this.mayAdd(t)) return false;
    const bytes = await this.source.volumeNifti(v.id);
    return this.step(async () => {
      if (!this.mayAdd(t)) return false;
      this.set({ overlays: [...this.state.overlays, await this.mount(v, bytes)], volumes: this.remember(v) });
      return true;
    });
  }

  private async mount(v: VolumeInfo, bytes: Uint8Array): Promise<Overlay> {
    const o: Overlay = { info: v, colormap: v.role === 'label' ? 'labels' : 'warm', opacity: OVERLAY_OPACITY, visible: true };
    await this.view.addOverlay(v, bytes, o.colormap, o.opacity);
    return o;
  }

  /** A volume by id: the ones known already, else the services' list (asked once for all that are missing). */
  async lookup(ids: string[]): Promise<(VolumeInfo | undefined)[]> {
    if (ids.some((id) => !this.state.volumes.has(id))) this.set({ volumes: this.remember(...(await this.source.listVolumes())) });
    return ids.map((id) => this.state.volumes.get(id));
  }

  /** A volume's NIfTI bytes, fetched again unless it belongs to the current result. */
  nifti(id: string): Promise<Uint8Array> {
    return this.kept.get(id) ?? this.source.volumeNifti(id);
  }

  /**
   * A run's result replaces the previous one over the base it was computed on (with its doubt map as a second,
   * warm overlay); dropped, returning false, when that base is no longer on screen.
   */
  async showResult(r: RunTaskResult, targetId: string): Promise<boolean> {
    const ids = [r.volumeId, ...(r.uncertainty ? [r.uncertainty.volumeId] : [])];
    const infos = (await this.lookup(ids)).filter((v): v is VolumeInfo => v !== undefined);
    if (infos[0]?.id !== r.volumeId || this.state.base?.id !== targetId) return false;
    const kept = new Map(infos.map((v) => [v.id, this.source.volumeNifti(v.id)]));
    const bytes = await Promise.all(kept.values());
    return this.step(async () => {
      if (this.state.base?.id !== targetId) return false;
      const old = this.resultIds();
      for (const id of old) this.view.removeOverlay(id);
      const overlays = this.state.overlays.filter((o) => !old.includes(o.info.id));
      for (const [i, v] of infos.entries()) overlays.push(await this.mount(v, bytes[i]));
      this.kept = kept;
      this.set({ overlays, result: r });
      return true;
    });
  }

  private resultIds(): string[] {
    const r = this.state.result;
    return r ? [r.volumeId, ...(r.uncertainty ? [r.uncertainty.volumeId] : [])] : [];
  }

  /** Colour map, opacity or visibility of one overlay; a hidden overlay is drawn at opacity 0. */
  updateOverlay(id: string, patch: Partial<Omit<Overlay, 'info'>>) {
    const i = this.state.overlays.findIndex((o) => o.info.id === id);
    if (i < 0) return;
    const o = { ...this.state.overlays[i], ...patch };
    if (patch.colormap) this.view.setOverlayColormap(id, o.colormap, o.info);
    this.view.setOpacity(id, o.visible ? o.opacity : 0);
    this.set({ overlays: this.state.overlays.map((x, j) => (j === i ? o : x)) });
  }

  setWindow(min: number, max: number) {
    this.view.setWindow(min, max);
    this.set({ window: [min, max] });
  }
}
