import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { calibrate, sampleCalibrationCases } from '../quant/calibrate.js';
import { parameterCount } from '../model/architecture.js';
import type { Architecture } from '../model/architecture.js';
import { OPSET, buildGraphs } from '../model/build-graphs.js';
import type { StateDict } from '../model/state-dict.js';
import { sha256Hex } from './load-package.js';
import {
  DEFAULT_NORMALIZATION,
  FIELD_OF_VIEW,
  GRAPH_FILES,
  GRAPH_ROLES,
  INT8_GRAPH_FILES,
  MANIFEST_FILE,
  PACKAGE_FORMAT,
  PACKAGE_FORMAT_VERSION,
} from './manifest.js';
import type { AlignedFrameRule, GraphEntries, GraphRole, GridFitRule, Int8Variant, Manifest, Precision } from './manifest.js';
import type { Task } from '../../common/task.js';

export const ENGINE_VERSION = '0.1.0';

export interface PackageOptions {
  name: string;
  grid?: [number, number, number];
  tasks?: Task[];
  threshold?: number;
  fit?: GridFitRule;
  orientation?: string;
  alignment?: Manifest['alignment'];
  alignedFrame?: AlignedFrameRule;
  evaluation?: Record<string, unknown> | null;
  /** 'int8': also an int8 CPU variant, calibrated on the sample in `calibrationResources` (default: the app's). */
  precision?: Precision;
  calibrationResources?: string;
  provenance: Omit<Manifest['provenance'], 'importedAt' | 'importer' | 'parameters'>;
}

/** Builds the three graphs from validated weights and writes graphs + manifest into `dir`. */
export async function writeModelPackage(dir: string, arch: Architecture, sd: StateDict, opts: PackageOptions): Promise<Manifest> {
  const built = buildGraphs(arch, sd, ENGINE_VERSION);
  await mkdir(dir, { recursive: true });
  const graphs = {} as Manifest['graphs'];
  for (const role of GRAPH_ROLES) {
    const bytes = built[role as GraphRole];
    await writeFile(join(dir, GRAPH_FILES[role]), bytes);
    graphs[role] = { file: GRAPH_FILES[role], sha256: sha256Hex(bytes), bytes: bytes.byteLength };
  }
  const manifest: Manifest = {
    format: PACKAGE_FORMAT,
    formatVersion: PACKAGE_FORMAT_VERSION,
    name: opts.name,
    architecture: arch,
    grid: opts.grid ?? [128, 128, 128],
    normalization: DEFAULT_NORMALIZATION,
    fit: opts.fit ?? FIELD_OF_VIEW,
    ...(opts.orientation ? { orientation: opts.orientation } : {}),
    ...(opts.alignment ? { alignment: opts.alignment } : {}),
    ...(opts.alignedFrame ? { alignedFrame: opts.alignedFrame } : {}),
    tasks: opts.tasks ?? ['segment', 'generate'],
    threshold: opts.threshold ?? 0.5,
    opset: OPSET,
    graphs,
    provenance: {
      ...opts.provenance,
      importedAt: new Date().toISOString(),
      importer: `neuroverse-workstation engine ${ENGINE_VERSION}`,
      parameters: parameterCount(arch.channels),
    },
    evaluation: opts.evaluation ?? null,
  };
  if (opts.precision === 'int8') manifest.int8 = await writeInt8Variant(dir, manifest, built, arch, sd, opts.calibrationResources);
  await writeFile(join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

/**
 * The int8 graphs of a package being written: probe graphs run on the sample shipped with the app through the
 * package's own preprocessing (calibration), then the graphs rebuilt with quantised convolutions.
 */
export async function writeInt8Variant(
  dir: string,
  manifest: Manifest,
  fp32: Record<GraphRole, Uint8Array>,
  arch: Architecture,
  sd: StateDict,
  resources?: string,
): Promise<Int8Variant> {
  const pkg = { dir, manifest, graphs: fp32 };
  const probes = buildGraphs(arch, sd, ENGINE_VERSION, 'contrib', { kind: 'probe' });
  const { cases, data } = await sampleCalibrationCases(manifest.tasks, manifest.alignedFrame?.marginMm ?? 10, resources);
  const cal = await calibrate(pkg, probes, cases, data);
  const built = buildGraphs(arch, sd, ENGINE_VERSION, 'contrib', { kind: 'int8', ranges: cal.ranges });
  const graphs = {} as GraphEntries;
  for (const role of GRAPH_ROLES) {
    const bytes = built[role];
    await writeFile(join(dir, INT8_GRAPH_FILES[role]), bytes);
    graphs[role] = { file: INT8_GRAPH_FILES[role], sha256: sha256Hex(bytes), bytes: bytes.byteLength };
  }
  return {
    graphs,
    weights: 'int8 symmetric per output channel',
    activations: 'uint8 asymmetric per tensor, min-max calibrated',
    keptFloat: ['Gelu', 'Add', 'Resize', 'ReduceMean', 'Concat', 'Reshape'],
    calibration: { cases: cal.cases, data: cal.data.map((f) => basename(f)) },
    createdAt: new Date().toISOString(),
  };
}
