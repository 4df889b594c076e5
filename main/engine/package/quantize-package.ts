import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../../common/errors.js';
import { buildGraphs } from '../model/build-graphs.js';
import { kernelToZyx } from '../model/layers.js';
import type { StateDict, WeightTensor } from '../model/state-dict.js';
import { ElemType, onnxTypes } from '../onnx/schema.js';
import { loadModelPackage, sha256Hex } from './load-package.js';
import { GRAPH_FILES, GRAPH_ROLES, MANIFEST_FILE } from './manifest.js';
import type { GraphRole, Manifest } from './manifest.js';
import { ENGINE_VERSION, writeInt8Variant } from './write-package.js';

/** TensorProto as protobufjs decodes it (field names kept as in onnx.proto; int64 dims may come as Long). */
interface TensorProto {
  name: string;
  dims: (number | { toNumber(): number })[];
  data_type: number;
  raw_data: Uint8Array;
}

/** Halves of a convolution the builder splits along its input channels (layers.ts, build-graphs.ts): first, second. */
const SPLIT = /^(.*)\.(up_part|skip_part|context_half|target_half)\.(weight|bias)$/;
const FIRST_PART = new Set(['up_part', 'context_half']);

/**
 * The weights of a package read back from its own fp32 graphs: the builder stores every convolution's
 * PyTorch weight under its state-dict key, with the kernel's axes reversed (kernelToZyx, its own inverse) and
 * the 1×1 convolutions over a concatenation split in two along their input channels (up-sampling:
 * `.up_part` + `.skip_part`; context-target fusion: `.context_half` + `.target_half`; the bias on the second).
 * So a package whose checkpoint is gone (the bundled one) can still be quantised.
 */
export function weightsFromGraphs(graphs: Record<GraphRole, Uint8Array>, dir: string): StateDict {
  const { model } = onnxTypes();
  const sd: StateDict = new Map();
  const parts = new Map<string, { first?: WeightTensor; second?: WeightTensor }>();
  for (const role of GRAPH_ROLES) {
    const m = model.decode(graphs[role]) as unknown as { graph: { initializer: TensorProto[] } };
    for (const t of m.graph.initializer) {
      if (t.data_type !== ElemType.FLOAT || !/\.(weight|bias)$/.test(t.name)) continue;
      const raw = t.raw_data;
      const data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      const w: WeightTensor = { dims: t.dims.map((d) => (typeof d === 'number' ? d : d.toNumber())), data };
      const split = SPLIT.exec(t.name);
      if (split && split[3] === 'weight') {
        const p = parts.get(split[1]) ?? {};
        p[FIRST_PART.has(split[2]) ? 'first' : 'second'] = w;
        parts.set(split[1], p);
        continue;
      }
      const key = split ? `${split[1]}.bias` : t.name;
      if (sd.has(key)) throw new InputError(dir, `weight ${key} appears twice in the package's graphs`, 'bad-model');
      sd.set(key, w.dims.length === 5 ? kernelToZyx(w) : w);
    }
  }
  for (const [key, { first, second }] of parts) {
    if (!first || !second) throw new InputError(dir, `weight ${key}: only one part of a split convolution found`, 'bad-model');
    sd.set(`${key}.weight`, joinInputChannels(first, second));
  }
  return sd;
}

/** The inverse of splitInputChannelsAt: [co, a, 1, 1, 1] and [co, b, 1, 1, 1] → [co, a + b, 1, 1, 1]. */
function joinInputChannels(a: WeightTensor, b: WeightTensor): WeightTensor {
  const [co, ca] = a.dims;
  const cb = b.dims[1];
  const data = new Float32Array(co * (ca + cb));
  for (let o = 0; o < co; o++) {
    data.set(a.data.subarray(o * ca, (o + 1) * ca), o * (ca + cb));
    data.set(b.data.subarray(o * cb, (o + 1) * cb), o * (ca + cb) + ca);
  }
  return { dims: [co, ca + cb, 1, 1, 1], data };
}

/**
 * `neuroverse model quantize`: a copy of the package at `srcDir` with an int8 CPU variant added, written to
 * `outDir` (built beside it and moved in whole; the source is never changed). The weights read back must
 * rebuild the package's fp32 graphs byte for byte, or the package came from another builder and is refused.
 */
export async function quantizePackage(srcDir: string, outDir: string, opts: { calibrationResources?: string } = {}): Promise<Manifest> {
  const pkg = await loadModelPackage(srcDir);
  if (pkg.manifest.int8) throw new InputError(srcDir, 'already has an int8 variant', 'usage');
  if (
    await stat(outDir).then(
      () => true,
      () => false,
    )
  )
    throw new InputError(outDir, 'exists: give another --out (nothing is replaced)', 'usage');
  const sd = weightsFromGraphs(pkg.graphs, srcDir);
  const rebuilt = buildGraphs(pkg.manifest.architecture, sd, ENGINE_VERSION);
  for (const role of GRAPH_ROLES) {
    if (sha256Hex(rebuilt[role]) !== pkg.manifest.graphs[role].sha256) {
      throw new InputError(
        join(srcDir, GRAPH_FILES[role]),
        'its weights do not rebuild this graph exactly (made by another engine version?): import the checkpoint with --precision int8 instead',
        'bad-model',
      );
    }
  }
  const parent = dirname(resolve(outDir));
  await mkdir(parent, { recursive: true });
  const work = await mkdtemp(join(parent, `.${basename(outDir)}.quantize-`));
  try {
    for (const role of GRAPH_ROLES) await writeFile(join(work, GRAPH_FILES[role]), pkg.graphs[role]);
    const manifest: Manifest = { ...pkg.manifest };
    manifest.int8 = await writeInt8Variant(work, manifest, pkg.graphs, manifest.architecture, sd, opts.calibrationResources);
    await writeFile(join(work, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
    await rename(work, outDir);
    return manifest;
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
}
