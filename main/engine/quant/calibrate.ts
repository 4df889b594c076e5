import type * as ort from 'onnxruntime-node';
import { readNifti } from '../../imaging/nifti/read.js';
import { structureMask } from '../../imaging/labels.js';
import { boxWhere } from '../../imaging/voxel-box.js';
import type { Volume } from '../../imaging/volume.js';
import { sampleFiles } from '../../settings/paths.js';
import { InferenceEngine } from '../inference-engine.js';
import type { StructureInput } from '../inference-engine.js';
import type { BuiltGraphs } from '../model/build-graphs.js';
import { GRAPH_NAMES } from '../model/build-graphs.js';
import type { LoadedModelPackage } from '../package/load-package.js';
import type { GraphRole } from '../package/manifest.js';
import { ModelSessions } from '../runtime/model-sessions.js';
import { runTaskOnEngine } from '../run-task.js';
import { mergeRange, parseProbeName } from './int8.js';
import type { CalibrationRanges } from './int8.js';

/** One calibration run: a target and its structures, as the app would run them. */
export interface CalibrationCase {
  name: string;
  target: Volume;
  structures: StructureInput[];
  pairsOnTargetGrid?: boolean;
  frame?: { box: { lo: [number, number, number]; hi: [number, number, number] }; marginMm: number };
}

export interface Calibration {
  ranges: CalibrationRanges;
  /** What the ranges were measured on, for the manifest. */
  cases: string[];
  data: string[];
}

/**
 * Runs the probe graphs (fp32, with each conv's input/output min and max as outputs) through the package's
 * own preprocessing on each case, and keeps the widest range seen per tensor (min-max calibration).
 */
export async function calibrate(pkg: LoadedModelPackage, probes: BuiltGraphs, cases: CalibrationCase[], data: string[]): Promise<Calibration> {
  const ranges: CalibrationRanges = {};
  const observe = (role: GraphRole, out: ort.InferenceSession.OnnxValueMapType) => {
    const graph = GRAPH_NAMES[role];
    const into = (ranges[graph] ??= {});
    const seen = new Map<string, { min?: number; max?: number; side: 'input' | 'output' }>();
    for (const [name, t] of Object.entries(out)) {
      const p = parseProbeName(name);
      if (!p) continue;
      const key = `${p.conv}\u0000${p.side}`;
      const e = seen.get(key) ?? { side: p.side };
      e[p.stat] = Number((t as ort.Tensor).data[0]);
      seen.set(key, e);
      (t as ort.Tensor).dispose();
    }
    for (const [key, e] of seen) {
      const conv = key.split('\u0000')[0];
      const r = { min: e.min!, max: e.max! };
      const cur = (into[conv] ??= { input: { min: Infinity, max: -Infinity }, output: { min: Infinity, max: -Infinity } });
      cur[e.side] = mergeRange(cur[e.side], r);
    }
  };
  const sessions = await ModelSessions.observed(probes, observe);
  const engine = InferenceEngine.onSessions(pkg, sessions);
  try {
    for (const c of cases) {
      await runTaskOnEngine(engine, {
        target: c.target,
        structures: c.structures,
        miniContext: 'auto',
        pairsOnTargetGrid: c.pairsOnTargetGrid,
        frame: c.frame,
      });
    }
  } finally {
    await engine.release();
  }
  for (const [graph, convs] of Object.entries(ranges)) {
    for (const [conv, r] of Object.entries(convs)) {
      if (![r.input.min, r.input.max, r.output.min, r.output.max].every(Number.isFinite)) throw new Error(`calibration: no finite range for ${graph}/${conv}`);
    }
  }
  return { ranges, cases: cases.map((c) => c.name), data };
}

/** AAL labels of the sample used for the segmentation cases: small, medium and paired structures. */
const SAMPLE_STRUCTURES: { name: string; labels: number[] }[] = [
  { name: 'hippocampus L', labels: [37] },
  { name: 'amygdala L', labels: [41] },
  { name: 'putamen R', labels: [74] },
  { name: 'caudate', labels: [71, 72] },
  { name: 'thalamus', labels: [77, 78] },
];

/**
 * Calibration cases from the sample shipped with the app (Colin27 T1 with skull, its AAL labels and its
 * brain): segmentation framed per structure on pairs on the target's grid (what aligned runs are), one run
 * with each pair framed by its own head (unaligned), and skull stripping as a generation task. The second
 * pair of each run is the same head with another contrast (gamma 0.7), so the context is not an exact copy.
 */
export async function sampleCalibrationCases(
  tasks: readonly string[],
  marginMm: number,
  resources?: string,
): Promise<{ cases: CalibrationCase[]; data: string[] }> {
  const files = sampleFiles(resources);
  const t1 = await readNifti(files.t1);
  const aal = await readNifti(files.labels);
  const other = gammaVariant(t1, 0.7);
  const cases: CalibrationCase[] = [];
  const data = [files.t1, files.labels];
  if (tasks.includes('segment')) {
    for (const s of SAMPLE_STRUCTURES) {
      const box = boxWhere(structureMask(aal, s.labels), aal.dims);
      if (!box) continue;
      cases.push({
        name: `segment ${s.name}, aligned, framed by the structure`,
        target: t1,
        structures: [
          {
            task: 'segment',
            labels: s.labels,
            pairs: [
              { image: t1, label: aal },
              { image: other, label: aal },
            ],
          },
        ],
        pairsOnTargetGrid: true,
        frame: { box, marginMm },
      });
    }
    cases.push({
      name: 'segment hippocampi, unaligned',
      target: t1,
      structures: [
        {
          task: 'segment',
          labels: [37, 38],
          pairs: [
            { image: t1, label: aal },
            { image: other, label: aal },
          ],
        },
      ],
    });
  }
  if (tasks.includes('generate')) {
    const brain = await readNifti(files.brain);
    data.push(files.brain);
    cases.push({
      name: 'generate skull stripping',
      target: t1,
      structures: [
        {
          task: 'generate',
          pairs: [
            { image: t1, label: brain },
            { image: other, label: brain },
          ],
        },
      ],
    });
  }
  return { cases, data };
}

/** The same head with intensities x ↦ max·(x/max)^γ: another contrast on identical anatomy. */
function gammaVariant(v: Volume, gamma: number): Volume {
  let max = 0;
  for (let i = 0; i < v.data.length; i++) if (v.data[i] > max) max = v.data[i];
  const data = new Float32Array(v.data.length);
  for (let i = 0; i < data.length; i++) data[i] = max > 0 ? max * Math.pow(Math.max(0, v.data[i]) / max, gamma) : 0;
  return { ...v, data, slope: v.slope, intercept: v.intercept };
}
