import { MULTIPLANAR_TYPE, Niivue, NVImage, SHOW_RENDER, SLICE_TYPE } from '@niivue/niivue';
import type { VolumeInfo } from '../../../main/api/types';
import { EditHistory } from './edit-history';
import type { OverlayColormap } from './overlay';

export interface CursorInfo {
  mm: [number, number, number];
  vox: [number, number, number];
  /** Value of each loaded volume at the crosshair, base image first. */
  values: { name: string; value: number }[];
}

export type ViewLayout = 'multiplanar' | 'axial' | 'coronal' | 'sagittal' | 'render';

export { OVERLAY_COLORMAPS, type Overlay, type OverlayColormap } from './overlay';

/**
 * The tri-planar + 3D view, a thin layer over NiiVue. Volumes arrive as NIfTI bytes from the API
 * (never from a URL the page builds), so the viewer shows exactly what the services hold.
 */
export class SliceViewer {
  readonly nv: Niivue;
  private ids: string[] = [];
  private firstFrameSeen = false;

  constructor(onCursor: (c: CursorInfo) => void) {
    this.nv = new Niivue({
      backColor: [0.05, 0.05, 0.07, 1],
      show3Dcrosshair: true,
      crosshairColor: [1, 0.85, 0.1, 1],
      isOrientCube: false,
      dragAndDropEnabled: false,
      multiplanarShowRender: SHOW_RENDER.ALWAYS,
      multiplanarLayout: MULTIPLANAR_TYPE.GRID,
      isColorbar: false,
      textHeight: 0.03,
    });
    this.nv.onLocationChange = (raw: unknown) => {
      const d = raw as { mm: number[]; vox: number[]; values: { name?: string; value: number }[] };
      onCursor({
        mm: [d.mm[0], d.mm[1], d.mm[2]],
        vox: [d.vox[0], d.vox[1], d.vox[2]],
        values: (d.values ?? []).map((v, i) => ({ name: v.name ?? this.nv.volumes[i]?.name ?? `volume ${i}`, value: v.value })),
      });
    };
  }

  async attach(canvas: HTMLCanvasElement) {
    await this.nv.attachToCanvas(canvas);
    this.nv.setSliceType(SLICE_TYPE.MULTIPLANAR);
  }

  has(id: string) {
    return this.ids.includes(id);
  }

  /** Replaces everything with a base image (and keeps no overlays). */
  async setBase(info: VolumeInfo, nifti: Uint8Array) {
    for (const v of [...this.nv.volumes]) this.nv.removeVolume(v);
    this.ids = [];
    await this.add(info, nifti, { colormap: 'gray', opacity: 1 });
  }

  async addOverlay(info: VolumeInfo, nifti: Uint8Array, colormap: OverlayColormap, opacity: number) {
    await this.add(info, nifti, { colormap: colormap === 'labels' ? 'gray' : colormap, opacity });
    if (colormap === 'labels') this.applyLabelColors(this.ids.length - 1, info);
  }

  private async add(info: VolumeInfo, nifti: Uint8Array, o: { colormap: string; opacity: number }) {
    const buffer = nifti.buffer.slice(nifti.byteOffset, nifti.byteOffset + nifti.byteLength) as ArrayBuffer;
    // NiiVue picks the reader from the name: a display name such as "seg.dcm · SEG …" would send a NIfTI
    // to its DICOM reader, so it loads under a .nii name and gets its display name afterwards.
    const img = await NVImage.loadFromUrl({ url: `${info.id}.nii`, name: `${info.id}.nii`, buffer, colormap: o.colormap, opacity: o.opacity });
    img.name = info.name;
    this.nv.addVolume(img);
    this.ids.push(info.id);
  }

  /** Distinct colours per label value; 0 stays transparent. */
  private applyLabelColors(index: number, info: VolumeInfo) {
    const max = Math.max(1, Math.min(65535, Math.round(info.range[1])));
    // NiiVue 0.69's overlay shader lifts any value above the table's lower bound to at least texture
    // coordinate 2/256, which for small label values lands (with linear filtering) on label 1's colour
    // and paints the whole background. Transparent entries below 0 keep value 0 clear of that floor.
    const pad = Math.ceil((2 * (max + 1)) / 256) + 1;
    const R: number[] = [],
      G: number[] = [],
      B: number[] = [],
      A: number[] = [],
      I: number[] = [];
    for (let v = -pad; v <= 0; v++) {
      R.push(0);
      G.push(0);
      B.push(0);
      A.push(0);
      I.push(v);
    }
    // A DICOM-SEG brings its own names and colours; other values get golden-angle hues, which keep neighbours apart.
    const named = new Map((info.labels ?? []).map((l) => [l.value, l]));
    const names: string[] = new Array(pad + 1).fill('');
    for (let v = 1; v <= max; v++) {
      const entry = named.get(v);
      const [r, g, b] = entry?.color ?? hsvToRgb((v * 137.508) % 360, 0.75, 1);
      R.push(r);
      G.push(g);
      B.push(b);
      A.push(255);
      I.push(v);
      names.push(entry?.name ?? '');
    }
    const vol = this.nv.volumes[index];
    vol.setColormapLabel({ R, G, B, A, I, labels: names });
    this.nv.updateGLVolume();
  }

  /** The colour a label overlay draws each value in (for the end-to-end checks and diagnostics). */
  labelColours(index: number): { value: number; rgb: [number, number, number]; name: string }[] {
    const lut = this.nv.volumes[index]?.colormapLabel;
    if (!lut) return [];
    const out = [];
    for (let v = lut.min ?? 0; v <= (lut.max ?? -1); v++) {
      const i = v - (lut.min ?? 0);
      if (v > 0 && lut.lut[i * 4 + 3] > 0)
        out.push({ value: v, rgb: [lut.lut[i * 4], lut.lut[i * 4 + 1], lut.lut[i * 4 + 2]] as [number, number, number], name: lut.labels?.[i] ?? '' });
    }
    return out;
  }

  setOverlayColormap(id: string, colormap: OverlayColormap, info: VolumeInfo) {
    const i = this.ids.indexOf(id);
    if (i < 0) return;
    const vol = this.nv.volumes[i];
    if (colormap === 'labels') {
      this.applyLabelColors(i, info);
    } else {
      vol.colormapLabel = null;
      vol.colormap = colormap;
      this.nv.updateGLVolume();
    }
  }

  setOpacity(id: string, opacity: number) {
    const i = this.ids.indexOf(id);
    if (i >= 0) this.nv.setOpacity(i, opacity);
  }

  removeOverlay(id: string) {
    const i = this.ids.indexOf(id);
    if (i <= 0) return; // never the base image
    this.nv.removeVolume(this.nv.volumes[i]);
    this.ids.splice(i, 1);
  }

  // ---- correction: NiiVue's drawing layer, seeded with a result mask on the base image's grid.
  // NiiVue's own undo cycles through a ring of whole bitmaps and has no redo; ours keeps bounded diffs.
  private history: EditHistory | null = null;

  /** Loads a label volume (same grid as the base) as the drawing layer and turns drawing on. */
  async startDrawing(info: VolumeInfo, nifti: Uint8Array, onChange: () => void = () => {}): Promise<void> {
    const buffer = nifti.buffer.slice(nifti.byteOffset, nifti.byteOffset + nifti.byteLength) as ArrayBuffer;
    const img = await NVImage.loadFromUrl({ url: `${info.id}.nii`, name: `${info.id}.nii`, buffer });
    img.name = info.name;
    if (!this.nv.loadDrawing(img)) throw new Error(`${info.name}: its grid does not match the image, so it cannot be edited`);
    this.nv.setDrawColormap('$itksnap');
    this.nv.drawOpacity = 0.6;
    const history = new EditHistory(this.nv.drawBitmap!);
    this.history = history;
    this.nv.onDrawingChanged = (action: string) => {
      if (action !== 'draw' || !this.nv.drawBitmap) return;
      if (history.record(this.nv.drawBitmap)) onChange();
    };
    this.setPen(1);
  }

  /** Pen value 0 erases; pen size in voxels. */
  setPen(value: number, size = 3) {
    this.nv.opts.penSize = size;
    this.nv.setPenValue(value, false);
    this.nv.setDrawingEnabled(true);
  }

  canUndo() {
    return this.history?.canUndo() ?? false;
  }

  canRedo() {
    return this.history?.canRedo() ?? false;
  }

  undo() {
    if (this.nv.drawBitmap && this.history?.undo(this.nv.drawBitmap)) this.nv.refreshDrawing(true);
  }

  redo() {
    if (this.nv.drawBitmap && this.history?.redo(this.nv.drawBitmap)) this.nv.refreshDrawing(true);
  }

  /** The drawing layer as NIfTI bytes in the base image's voxel order (what the API's updateLabelVolume takes). */
  async drawingNifti(): Promise<Uint8Array> {
    const out = await this.nv.saveImage({ filename: '', isSaveDrawing: true, volumeByIndex: 0 });
    if (!(out instanceof Uint8Array)) throw new Error('there is no drawing to save');
    return out;
  }

  stopDrawing() {
    this.nv.setDrawingEnabled(false);
    this.nv.onDrawingChanged = () => {};
    if (this.nv.drawBitmap) this.nv.closeDrawing();
    this.history = null;
  }

  // ---- comparison: a second viewer (its own canvas) that follows this one's crosshair, zoom and layout.

  /**
   * Links two viewers both ways: whichever canvas the user works in moves the other (NiiVue only
   * broadcasts from the focused canvas, so the pair cannot echo). The other starts at this one's position.
   */
  link(other: SliceViewer) {
    this.nv.broadcastTo(other.nv);
    other.nv.broadcastTo(this.nv);
    other.nv.scene.crosshairPos = other.nv.mm2frac(this.nv.frac2mm(this.nv.scene.crosshairPos));
    other.nv.scene.pan2Dxyzmm = new Float32Array(this.nv.scene.pan2Dxyzmm) as typeof other.nv.scene.pan2Dxyzmm;
    other.nv.drawScene();
  }

  /** Stops broadcasting to a linked viewer (before that viewer is disposed). */
  unlink() {
    this.nv.broadcastTo([]);
  }

  /** Frees the WebGL context and listeners of a viewer whose canvas is going away. */
  dispose() {
    this.nv.broadcastTo([]);
    this.nv.cleanup();
    const gl = this.nv.gl as WebGL2RenderingContext | null;
    gl?.getExtension('WEBGL_lose_context')?.loseContext();
  }

  /** Window/level of the base image in real (scaled) units. */
  setWindow(min: number, max: number) {
    const vol = this.nv.volumes[0];
    if (!vol) return;
    vol.cal_min = min;
    vol.cal_max = max;
    this.nv.updateGLVolume();
  }

  getWindow(): [number, number] {
    const vol = this.nv.volumes[0];
    return vol ? [vol.cal_min ?? 0, vol.cal_max ?? 0] : [0, 0];
  }

  setLayout(layout: ViewLayout) {
    const map: Record<ViewLayout, SLICE_TYPE> = {
      multiplanar: SLICE_TYPE.MULTIPLANAR,
      axial: SLICE_TYPE.AXIAL,
      coronal: SLICE_TYPE.CORONAL,
      sagittal: SLICE_TYPE.SAGITTAL,
      render: SLICE_TYPE.RENDER,
    };
    this.nv.setSliceType(map[layout]);
  }

  /** Tiles on screen (CSS pixels), for diagnostics and the end-to-end checks of what was drawn. */
  tiles(): { view: 'axial' | 'coronal' | 'sagittal' | 'render'; left: number; top: number; width: number; height: number }[] {
    type View = 'axial' | 'coronal' | 'sagittal' | 'render';
    const names: Partial<Record<number, View>> = {
      [SLICE_TYPE.AXIAL]: 'axial',
      [SLICE_TYPE.CORONAL]: 'coronal',
      [SLICE_TYPE.SAGITTAL]: 'sagittal',
      [SLICE_TYPE.RENDER]: 'render',
    };
    const dpr = (this.nv as unknown as { uiData: { dpr: number } }).uiData?.dpr ?? window.devicePixelRatio ?? 1;
    return this.nv.screenSlices.map((s) => ({
      view: names[s.axCorSag] ?? 'render',
      left: s.leftTopWidthHeight[0] / dpr,
      top: s.leftTopWidthHeight[1] / dpr,
      width: s.leftTopWidthHeight[2] / dpr,
      height: s.leftTopWidthHeight[3] / dpr,
    }));
  }

  /** Resolves once a frame with volumes has been drawn (NiiVue draws on the next animation frame). */
  async frameDrawn(): Promise<boolean> {
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const drawn = this.nv.volumes.length > 0 && this.nv.screenSlices.length > 0;
    const first = drawn && !this.firstFrameSeen;
    if (drawn) this.firstFrameSeen = true;
    return first;
  }
}

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const c = v * s;
  const x = c * (1 - Math.abs(((h / 60) % 2) - 1));
  const m = v - c;
  const [r, g, b] = h < 60 ? [c, x, 0] : h < 120 ? [x, c, 0] : h < 180 ? [0, c, x] : h < 240 ? [0, x, c] : h < 300 ? [x, 0, c] : [c, 0, x];
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}
