import { reorientToRas, type Volume } from '../imaging/index.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { assertSameGrid } from './nifti-export.js';
import { encodePngRgb } from './png.js';
import type { LesionStats } from './lesion-stats.js';
import type { ReportContextSet, ReportModel, SegProvenance, VolumeStats } from './types.js';
import { provenanceText } from './seg/provenance.js';
import type { NormResult, VolumetryResult } from './volumetry/types.js';

export interface ReportInput {
  target: Volume;
  targetName: string;
  mask: Volume;
  stats: VolumeStats;
  model: ReportModel;
  /** The in-context examples the model was given (names of the image/label pairs). */
  contextSet: ReportContextSet;
  /** ISO time of the run; fixed by the caller so a report can be reproduced byte for byte. */
  createdAt: string;
  notes?: string[];
  /** Who and what was scanned, shown at the top (DICOM: patient ID and name, study date, accession, series). */
  identifiers?: ReportIdentifiers;
  /** Volumes with left/right, % of ICV, asymmetry and percentiles: replaces the plain volume table. */
  volumetry?: VolumetryResult;
  /** Doubt and quality-control findings, shown in a box above the table. */
  warnings?: string[];
  /** How the result was made (method, alignment, context set identity, algorithm and its version). */
  provenance?: SegProvenance;
  /** Versions of what made it ("Neuroverse Workstation": "0.1.0", "elastix": "..."). */
  versions?: Record<string, string>;
  /** A lesion run's lesions (count, each one's volume and centre): what a reader follows over time. */
  lesions?: LesionStats;
}

/** Lesions shown one per row, largest first; the rest are summed in one line (a page, not a spreadsheet). */
const LESION_ROWS = 20;

function lesionTable(l: LesionStats): string {
  const shown = l.lesions.slice(0, LESION_ROWS);
  const rest = l.lesions.slice(LESION_ROWS);
  const rows = shown
    .map((x) => `<tr><td>${x.index}</td><td>${x.volumeMl.toFixed(3)}</td><td>${x.centreVoxel.join(', ')}</td></tr>`)
    .concat(rest.length ? [`<tr><td>${rest.length} smaller</td><td>${rest.reduce((a, x) => a + x.volumeMl, 0).toFixed(3)}</td><td></td></tr>`] : [])
    .join('\n');
  return `<h2>Lesions</h2>
<p>${l.count} lesion${l.count === 1 ? '' : 's'}, ${l.totalMl.toFixed(3)} mL in all (${l.connectivity}-connected components of the mask).</p>
${l.count ? `<table><thead><tr><th>lesion</th><th>volume (mL)</th><th>centre (voxel i, j, k)</th></tr></thead>\n<tbody>\n${rows}\n</tbody></table>` : ''}`;
}

export interface ReportIdentifiers {
  patientId?: string;
  patientName?: string;
  studyDate?: string;
  accessionNumber?: string;
  seriesDescription?: string;
}

export interface KeySlice {
  plane: 'axial' | 'coronal' | 'sagittal';
  index: number;
  width: number;
  height: number;
  png: Uint8Array;
}

const PALETTE = [
  [230, 25, 75],
  [60, 180, 75],
  [255, 225, 25],
  [0, 130, 200],
  [245, 130, 48],
  [145, 30, 180],
  [70, 240, 240],
  [240, 50, 230],
  [210, 245, 60],
  [250, 190, 212],
  [0, 128, 128],
  [220, 190, 255],
];

/** Colour of a label in the key slices and the table (stable per position in the stats table). */
export function labelColour(position: number): [number, number, number] {
  return PALETTE[position % PALETTE.length] as [number, number, number];
}

/**
 * Three key slices (axial, coronal, sagittal) through the centre of the segmented voxels, in RAS
 * display orientation (patient's right on the image's right, anterior/superior up), the scan windowed
 * at its 1st–99th percentile with the labels blended on top.
 */
export function keySlices(target: Volume, mask: Volume, order: number[]): KeySlice[] {
  const t = reorientToRas(target);
  const m = reorientToRas(mask);
  const [nx, ny, nz] = t.dims;
  let cx = 0,
    cy = 0,
    cz = 0,
    n = 0;
  // Centred on the structures shown: a full label map (every aseg label) must not pull the slices to the brain's middle.
  const shown = new Set(order);
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        const idx = i + j * nx + k * nx * ny;
        if (shown.has(Math.round(m.data[idx] * m.slope + m.intercept))) {
          cx += i;
          cy += j;
          cz += k;
          n++;
        }
      }
  const c = n ? [Math.round(cx / n), Math.round(cy / n), Math.round(cz / n)] : [nx >> 1, ny >> 1, nz >> 1];
  const [lo, hi] = percentiles(t, 0.01, 0.99);
  const colourOf = new Map(order.map((v, p) => [v, labelColour(p)]));
  const render = (plane: KeySlice['plane'], w: number, h: number, at: (x: number, y: number) => number): KeySlice => {
    const rgb = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const idx = at(x, h - 1 - y); // image rows top-down; world axes point up
        const g = Math.max(0, Math.min(255, Math.round(((t.data[idx] * t.slope + t.intercept - lo) / (hi - lo || 1)) * 255)));
        const label = Math.round(m.data[idx] * m.slope + m.intercept);
        const col = label ? colourOf.get(label) : undefined;
        const o = (y * w + x) * 3;
        if (col) for (let ch = 0; ch < 3; ch++) rgb[o + ch] = Math.round(0.45 * g + 0.55 * col[ch]);
        else rgb[o] = rgb[o + 1] = rgb[o + 2] = g;
      }
    const index = plane === 'axial' ? c[2] : plane === 'coronal' ? c[1] : c[0];
    return { plane, index, width: w, height: h, png: encodePngRgb(w, h, rgb) };
  };
  return [
    render('axial', nx, ny, (x, y) => x + y * nx + c[2] * nx * ny),
    render('coronal', nx, nz, (x, z) => x + c[1] * nx + z * nx * ny),
    render('sagittal', ny, nz, (y, z) => c[0] + y * nx + z * nx * ny),
  ];
}

function percentiles(v: Volume, a: number, b: number): [number, number] {
  // A strided sample is enough for a display window and keeps this fast on large volumes.
  const step = Math.max(1, Math.floor(v.data.length / 200_000));
  const s: number[] = [];
  for (let i = 0; i < v.data.length; i += step) s.push(v.data[i] * v.slope + v.intercept);
  s.sort((x, y) => x - y);
  return [s[Math.floor(a * (s.length - 1))], s[Math.floor(b * (s.length - 1))]];
}

const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

const fmt = (x: number | null | undefined, digits: number) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));

function normCell(n: NormResult): string {
  if (n.kind === 'none') return `<td class="none" title="${esc(n.reason)}">no norm</td>`;
  const p = `${n.bound === 'below' ? '&lt;' : n.bound === 'above' ? '&gt;' : ''}${n.percentile.toFixed(0)}`;
  return `<td class="${n.bound === 'below' || n.percentile < 5 ? 'low' : ''}" title="${esc(n.source)}">${p}</td>`;
}

/** The volumetry table: one row per structure (with its pair's asymmetry), then each pair's total. */
function volumetryTable(v: VolumetryResult, colourOf: Map<number, [number, number, number]>): string {
  const pairOf = new Map(v.pairs.map((p) => [p.structure.toLowerCase(), p]));
  const rows = v.rows.map((r) => {
    const c = colourOf.get(r.value);
    const sw = c ? `<span class="sw" style="background:rgb(${c.join(',')})"></span>` : '';
    const pair = r.side ? pairOf.get(r.structure.toLowerCase()) : undefined;
    return `<tr><td>${sw}${esc(r.name)}</td><td>${r.value}</td><td>${fmt(r.volumeMl, 3)}</td><td>${fmt(r.pctIcv, 3)}</td><td>${pair ? fmt(pair.asymmetryIndex, 1) : ''}</td>${normCell(r.norm)}</tr>`;
  });
  const totals = v.pairs.map(
    (p) =>
      `<tr class="pair"><td>${esc(p.structure)} (left + right)</td><td></td><td>${fmt(p.totalMl, 3)}</td><td>${fmt(p.pctIcv, 3)}</td><td>${fmt(p.asymmetryIndex, 1)}</td>${normCell(p.norm)}</tr>`,
  );
  const icv = v.icv ? `${fmt(v.icv.volumeMl, 0)} mL (${esc(v.icv.method)})` : 'not estimated (no intracranial atlas given): no % of ICV';
  const who = [
    v.demographics.age !== undefined ? `age ${fmt(v.demographics.age, v.demographics.age < 2 ? 1 : 0)}` : '',
    v.demographics.sex ? `sex ${v.demographics.sex}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const all = [
    ...new Set(
      v.rows
        .map((r) => r.norm)
        .concat(v.pairs.map((p) => p.norm))
        .flatMap((n) => (n.kind === 'none' ? [n.reason] : [])),
    ),
  ];
  // "no norm available for left X" for many structures reads better as one list.
  const prefix = 'no norm available for ';
  const uncovered = all.filter((x) => x.startsWith(prefix)).map((x) => x.slice(prefix.length));
  const reasons = [...all.filter((x) => !x.startsWith(prefix)), ...(uncovered.length ? [`no table for ${uncovered.join(', ')}`] : [])];
  return `<table><thead><tr><th>structure</th><th>label</th><th>volume (mL)</th><th>% ICV</th><th>asymmetry (%)</th><th>percentile</th></tr></thead>
<tbody>
${rows.join('\n')}
${totals.join('\n')}
</tbody></table>
<p class="small">Intracranial volume (ICV): ${icv}. ${esc(v.asymmetryFormula)}. Percentiles for ${who ? esc(who) : 'unknown age and sex'} (${esc(v.demographics.source)}).
${reasons.length ? `No norm: ${reasons.map(esc).join('; ')}.` : ''} ${esc(v.normsNote)}${v.normsNote.endsWith('.') ? '' : '.'} Voxel volume ${v.voxelVolumeMm3.toFixed(4)} mm³.</p>`;
}

/** A self-contained HTML run report (no external resources), printable to PDF from any browser. */
export function buildReportHtml(r: ReportInput): string {
  assertSameGrid(r.target, r.mask, 'mask');
  // With volumetry, only its structures are drawn (a mask may hold more labels than the report names).
  const order = r.volumetry ? r.volumetry.rows.map((x) => x.value) : r.stats.structures.map((s) => s.value);
  const slices = keySlices(r.target, r.mask, order);
  const total = r.stats.structures.reduce((x, s) => x + s.volumeMl, 0);
  const colourOf = new Map(order.map((v, p) => [v, labelColour(p)] as const));
  const rows = r.stats.structures
    .map((s, i) => {
      const [cr, cg, cb] = labelColour(i);
      return `<tr><td><span class="sw" style="background:rgb(${cr},${cg},${cb})"></span>${esc(s.name)}</td><td>${s.value}</td><td>${s.voxels}</td><td>${s.volumeMl.toFixed(3)}</td></tr>`;
    })
    .join('\n');
  const plainTable = `<table><thead><tr><th>structure</th><th>label</th><th>voxels</th><th>volume (mL)</th></tr></thead>
<tbody>
${rows}
</tbody><tfoot><tr><td>total</td><td></td><td>${r.stats.structures.reduce((x, s) => x + s.voxels, 0)}</td><td>${total.toFixed(3)}</td></tr></tfoot></table>
<p>Voxel volume ${r.stats.voxelVolumeMm3.toFixed(4)} mm³ (from the image affine).</p>`;
  const ids = r.identifiers ?? {};
  const idRows = (
    [
      ['Patient ID', ids.patientId],
      ['Patient name', ids.patientName],
      ['Study date', ids.studyDate],
      ['Accession', ids.accessionNumber],
      ['Series', ids.seriesDescription],
    ] as const
  )
    .filter(([, v]) => v)
    .map(([k, v]) => `<dt>${k}</dt><dd>${esc(String(v))}</dd>`)
    .join('');
  const how = r.provenance
    ? `<dt>Method</dt><dd>${esc(r.provenance.type === 'MANUAL' ? 'drawn by hand' : `${r.provenance.algorithmName ?? ''}${r.provenance.algorithmVersion ? ` (${r.provenance.algorithmVersion})` : ''}`)}</dd>${provenanceText(r.provenance) ? `<dt>How</dt><dd>${esc(provenanceText(r.provenance))}</dd>` : ''}`
    : '';
  const versions =
    r.versions && Object.keys(r.versions).length
      ? `<dt>Versions</dt><dd>${Object.entries(r.versions)
          .map(([k, v]) => `${esc(k)} ${esc(v)}`)
          .join(', ')}</dd>`
      : '';
  // A run's provenance knows the set by count and content identity; the pair names only where the caller has them.
  const pc = r.provenance?.contextSet;
  const contextLine =
    pc && r.contextSet.pairs.length === 0
      ? `${esc(pc.name)}: ${pc.pairs} pair${pc.pairs === 1 ? '' : 's'} (identity ${esc(pc.identity)})`
      : `${esc(r.contextSet.name)}: ${r.contextSet.pairs.length} pair${r.contextSet.pairs.length === 1 ? '' : 's'}${r.contextSet.pairs.length ? ` (${r.contextSet.pairs.map(esc).join(', ')})` : ''}`;
  const warnings = r.warnings?.length
    ? `<div class="box"><h2>Doubt and quality warnings</h2><ul>${r.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></div>`
    : '';
  const figures = slices
    .map(
      (k) =>
        `<figure><img alt="${k.plane} slice ${k.index}" width="${k.width}" height="${k.height}" src="data:image/png;base64,${Buffer.from(k.png).toString('base64')}"><figcaption>${k.plane} slice ${k.index} (RAS display: R right, A/S up)</figcaption></figure>`,
    )
    .join('\n');
  const src = r.target.source;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Neuroverse run report: ${esc(r.targetName)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#111}h1{font-size:1.4em}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #bbb;padding:.25em .6em;text-align:right}td:first-child,th:first-child{text-align:left}
.sw{display:inline-block;width:.9em;height:.9em;margin-right:.4em;vertical-align:middle}
figure{display:inline-block;margin:0 1em 1em 0}img{image-rendering:pixelated;max-width:320px;height:auto;background:#000}
.warn{color:#8a1f11}dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}
.small{font-size:.85em;color:#333}.low{color:#8a1f11;font-weight:600}.none{color:#777}tr.pair td{font-style:italic}
.box{border:1px solid #c98;background:#fff6f0;padding:.3em 1em;margin:1em 0}.box h2{font-size:1.05em;margin:.3em 0}
@page{size:A4;margin:10mm}@media print{body{margin:0;font-size:10px;line-height:1.3}h1{font-size:1.3em;margin:0 0 .3em}
h2{font-size:1.1em;margin:.5em 0 .2em}td,th{padding:.1em .4em}table{margin:.4em 0}p{margin:.3em 0}
figure{width:31%;margin:0 1% 0 0}img{max-width:100%;max-height:210px;width:auto}figcaption{font-size:.85em}}
</style></head><body>
<h1>Neuroverse run report</h1>
<p class="warn">Research use only: not for clinical diagnosis.</p>
<dl>
${idRows}
<dt>Target</dt><dd>${esc(r.targetName)} (${r.target.dims.slice(0, 3).join('×')}, ${r.target.spacing
    .slice(0, 3)
    .map((s) => s.toFixed(3))
    .join('×')} mm)</dd>
<dt>Source</dt><dd>${esc(src.kind)}${src.seriesInstanceUid ? ` series ${esc(src.seriesInstanceUid)}` : ''}${src.reader ? `, read with ${esc(src.reader)}` : ''}</dd>
<dt>Model</dt><dd>${esc(r.model.name)}${r.model.version ? ` ${esc(r.model.version)}` : ''}${r.model.checkpoint ? ` (checkpoint ${esc(r.model.checkpoint)})` : ''}</dd>
<dt>Context set</dt><dd>${contextLine}</dd>
${how}${versions}
<dt>Created</dt><dd>${esc(r.createdAt)}</dd>
</dl>
${warnings}
<h2>Structure volumes</h2>
${r.volumetry ? volumetryTable(r.volumetry, colourOf) : plainTable}
${r.lesions ? lesionTable(r.lesions) : ''}
<h2>Key slices</h2>
${figures}
${r.notes?.length ? `<h2>Notes</h2><ul>${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
</body></html>
`;
}

export async function writeReport(path: string, input: ReportInput, overwrite = false): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(buildReportHtml(input)), { overwrite });
}
