import type { RunTaskResult, VolumeInfo, VolumeRole } from '../../main/api/types.js';
import type { OverlayColormap } from '../../renderer/src/lib/overlay.js';
import type { View, VolumeSource } from '../../renderer/src/lib/session.js';

export function volume(id: string, role: VolumeRole = 'image'): VolumeInfo {
  return { id, name: `${id}.nii`, role, range: [0, 10] } as VolumeInfo;
}

export function runResult(volumeId: string, task: RunTaskResult['task'] = 'segment', doubtId?: string): RunTaskResult {
  return { volumeId, task, uncertainty: doubtId ? { volumeId: doubtId, structures: [] } : null } as RunTaskResult;
}

/** A promise the test settles itself, to put answers in the order a race needs. */
export function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((ok) => (resolve = ok));
  return { promise, resolve };
}

/** Lets every pending promise callback run. */
export const settle = () => new Promise((r) => setTimeout(r, 0));

/**
 * The services' volumes, where a test may hold a volume's bytes back (a slow fetch) and counts every fetch.
 * Bytes are one byte: the volume's position in `known`, so a test can tell which bytes reached the viewer.
 */
export class FakeSource implements VolumeSource {
  readonly fetches: string[] = [];
  listCalls = 0;
  private held = new Map<string, ReturnType<typeof deferred<void>>>();

  constructor(public known: VolumeInfo[] = []) {}

  hold(id: string) {
    const d = deferred<void>();
    this.held.set(id, d);
    return () => d.resolve();
  }

  async listVolumes() {
    this.listCalls++;
    return [...this.known];
  }

  async volumeNifti(id: string) {
    this.fetches.push(id);
    await this.held.get(id)?.promise;
    return new Uint8Array([this.known.findIndex((v) => v.id === id)]);
  }
}

/** A viewer that keeps the list of volumes it shows, base first, the way NiiVue's would be. */
export class FakeView implements View {
  shown: { id: string; colormap: string; opacity: number; byte: number }[] = [];
  window: [number, number] = [0, 0];
  /** Loads in progress at once: the store must never have more than one. */
  loading = 0;
  maxLoading = 0;

  private async load() {
    this.maxLoading = Math.max(this.maxLoading, ++this.loading);
    await new Promise((r) => setTimeout(r, 1));
    this.loading--;
  }

  async setBase(info: VolumeInfo, nifti: Uint8Array) {
    this.shown = [];
    await this.load();
    this.shown.push({ id: info.id, colormap: 'gray', opacity: 1, byte: nifti[0] });
    this.window = [...info.range];
  }

  async addOverlay(info: VolumeInfo, nifti: Uint8Array, colormap: OverlayColormap, opacity: number) {
    await this.load();
    this.shown.push({ id: info.id, colormap, opacity, byte: nifti[0] });
  }

  removeOverlay(id: string) {
    const i = this.shown.findIndex((v) => v.id === id);
    if (i > 0) this.shown.splice(i, 1);
  }

  setOverlayColormap(id: string, colormap: OverlayColormap) {
    const v = this.shown.find((x) => x.id === id);
    if (v) v.colormap = colormap;
  }

  setOpacity(id: string, opacity: number) {
    const v = this.shown.find((x) => x.id === id);
    if (v) v.opacity = opacity;
  }

  getWindow(): [number, number] {
    return [...this.window];
  }

  setWindow(min: number, max: number) {
    this.window = [min, max];
  }

  ids() {
    return this.shown.map((v) => v.id);
  }
}
