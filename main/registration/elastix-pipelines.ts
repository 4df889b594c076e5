/**
 * elastix's pipelines (registration, transformix, default parameter maps), each through one WebAssembly instance
 * for all the calls of a compute job, dropped when the job ends (`dropPipelines`). @itk-wasm/elastix's Node
 * functions go through itk-wasm's `runPipelineNode`, which decompresses, compiles and instantiates the module on
 * every call: a pair's job (one registration, three warps) made six instances, whose heaps (up to ~0.2 GB each at
 * 256³) V8 frees only when it collects them, so they piled up within a job and a worker's memory followed its
 * number of calls (issue 26). Kept for the worker's life instead (as itk-wasm's browser workers keep theirs), an
 * instance holds the largest heap any call has needed (~0.4 GB per worker): measured, that raised the peak of a
 * run more than the garbage it saved (docs/alignment.md, "Memory"). The marshalling is itk-wasm's own
 * (`runPipelineEmscripten`, which `runPipelineNode` calls): it is not in the package's exports, so it is imported
 * by path from the itk-wasm that @itk-wasm/elastix itself resolves (package.json pins that build; the registration
 * tests run through here). The argument lists are those of @itk-wasm/elastix's generated `elastixNode`,
 * `transformixNode` and `defaultParameterMapNode`.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ItkGeometry, ItkImageLike } from './itk-image.js';
import type { ParameterMap } from './parameters.js';

type PipelineName = 'elastix' | 'transformix' | 'default-parameter-map';
type InterfaceType = 'Image' | 'JsonCompatible' | 'TransformList';
interface PipelineResult {
  returnValue: number;
  stderr: string;
  outputs: { type: InterfaceType; data: unknown }[];
}
type EmscriptenModule = object;
interface ItkWasm {
  run(module: EmscriptenModule, args: string[], outputs: { type: InterfaceType }[], inputs: { type: InterfaceType; data: unknown }[]): PipelineResult;
  load(pipelinePath: string): Promise<EmscriptenModule>;
  pipelines: string;
}

let itkWasm: Promise<ItkWasm> | null = null;
function itk(): Promise<ItkWasm> {
  itkWasm ??= (async () => {
    const elastixEntry = createRequire(import.meta.url).resolve('@itk-wasm/elastix');
    const internal = join(dirname(createRequire(elastixEntry).resolve('itk-wasm')), 'pipeline', 'internal');
    const [run, load] = await Promise.all(
      ['run-pipeline-emscripten.js', 'load-emscripten-module-node.js'].map(async (f) => (await import(pathToFileURL(join(internal, f)).href)).default),
    );
    return { run, load, pipelines: join(dirname(elastixEntry), 'pipelines') };
  })();
  return itkWasm;
}

const instances = new Map<PipelineName, Promise<EmscriptenModule>>();
const loads = new Map<PipelineName, number>();

/** How many instances of a pipeline this thread has made (one per job, one more after a failed call). */
export function pipelineLoads(name: PipelineName): number {
  return loads.get(name) ?? 0;
}

/** Lets go of this thread's instances (at the end of a job): the next call makes a fresh one. */
export function dropPipelines(): void {
  instances.clear();
}

/**
 * One pipeline call on this thread's instance of it. An instance whose call failed is dropped (its state after an
 * exception inside elastix is unknown): the next call starts a fresh one.
 */
async function runPipeline(
  name: PipelineName,
  args: string[],
  outputs: { type: InterfaceType }[],
  inputs: { type: InterfaceType; data: unknown }[],
): Promise<unknown[]> {
  const { run, load, pipelines } = await itk();
  let instance = instances.get(name);
  if (!instance) {
    instance = load(join(pipelines, name));
    instances.set(name, instance);
    loads.set(name, pipelineLoads(name) + 1);
  }
  let r: PipelineResult;
  try {
    r = run(await instance, args, outputs, inputs);
  } catch (err) {
    instances.delete(name);
    throw err;
  }
  if (r.returnValue !== 0) {
    instances.delete(name);
    // As @itk-wasm/elastix's functions do: the pipeline's stderr is its error message.
    if (r.stderr !== '') throw new Error(r.stderr);
  }
  return r.outputs.map((o) => o.data);
}

/** elastix's default parameter map of a transform ("rigid", "affine", "bspline"). */
export async function defaultParameterMap(
  transform: 'rigid' | 'affine' | 'bspline',
  o: { numberOfResolutions?: number; finalGridSpacing?: number } = {},
): Promise<ParameterMap> {
  const args = [transform, '0', '--memory-io'];
  if (o.numberOfResolutions) args.push('--number-of-resolutions', String(o.numberOfResolutions));
  if (o.finalGridSpacing) args.push('--final-grid-spacing', String(o.finalGridSpacing));
  const [map] = await runPipeline('default-parameter-map', args, [{ type: 'JsonCompatible' }], []);
  return map as ParameterMap;
}

/** Registers `moving` to `fixed`; the transform parameter object maps points of `fixed` to points of `moving`. */
export async function registerWithElastix(
  maps: ParameterMap[],
  o: { fixed: ItkImageLike; moving: ItkImageLike; initialTransformParameterObject?: ParameterMap[] },
): Promise<ParameterMap[]> {
  const inputs: { type: InterfaceType; data: unknown }[] = [{ type: 'JsonCompatible', data: maps }];
  const args = ['0', '0', '1', '2', '--memory-io'];
  const add = (flag: string, type: InterfaceType, data: unknown) => {
    args.push(flag, String(inputs.length));
    inputs.push({ type, data });
  };
  add('--fixed', 'Image', o.fixed);
  add('--moving', 'Image', o.moving);
  if (o.initialTransformParameterObject) add('--initial-transform-parameter-object', 'JsonCompatible', o.initialTransformParameterObject);
  const out = await runPipeline('elastix', args, [{ type: 'Image' }, { type: 'TransformList' }, { type: 'JsonCompatible' }], inputs);
  return out[2] as ParameterMap[];
}

/** `moving` resampled by transformix with `maps` onto the grid `out` (origin, spacing, size, direction). */
export async function transformix(moving: ItkImageLike, maps: ParameterMap[], out: ItkGeometry): Promise<ItkImageLike> {
  const args = ['0', '1', '0', '--memory-io'];
  for (const [flag, values] of [
    ['--output-origin', out.origin],
    ['--output-spacing', out.spacing],
    ['--output-size', out.size],
    ['--output-direction', out.direction],
  ] as const)
    args.push(flag, ...values.map(String));
  const [result] = await runPipeline(
    'transformix',
    args,
    [{ type: 'Image' }],
    [
      { type: 'Image', data: moving },
      { type: 'JsonCompatible', data: maps },
    ],
  );
  return result as ItkImageLike;
}
