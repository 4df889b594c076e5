import * as ort from 'onnxruntime-node';
import type { LoadedModelPackage } from '../package/load-package.js';
import type { GraphRole, Precision } from '../package/manifest.js';
import { cudaProviderInstalled, explainCudaFailure, sessionOptions } from './device.js';
import type { DeviceRequest, PrecisionRequest, Provider, ProviderChoice } from './device.js';
import { InputError } from '../../common/errors.js';

/** The three ORT sessions of one model package, all on one execution provider. */
export class ModelSessions {
  private constructor(
    readonly encoder: ort.InferenceSession,
    readonly context: ort.InferenceSession,
    readonly decoder: ort.InferenceSession,
    readonly choice: ProviderChoice,
  ) {}

  /**
   * CUDA first where it may work; any failure to create the CUDA sessions falls back to the CPU with the
   * reason recorded. `--device cuda` turns that failure into an error instead.
   */
  static async create(pkg: LoadedModelPackage, device: DeviceRequest, fallbackReason?: string, precision: PrecisionRequest = 'auto'): Promise<ModelSessions> {
    if (precision === 'int8' && !pkg.int8Graphs) {
      throw new InputError(pkg.dir, '--precision int8: this package has no int8 variant (neuroverse model import ... --precision int8 makes one)', 'usage');
    }
    if (device !== 'cpu' && precision !== 'int8') {
      if (!cudaProviderInstalled()) {
        const reason = 'no CUDA provider installed (onnxruntime-node ships the CPU provider only)';
        if (device === 'cuda') throw new InputError(pkg.dir, `--device cuda: ${reason}`, 'no-cuda');
        return ModelSessions.onCpu(pkg, `fell back to CPU: ${reason}`, precision);
      }
      try {
        return await ModelSessions.open(pkg, 'cuda', 'CUDA execution provider', 'fp32', 'fp32 on the GPU');
      } catch (err) {
        const reason = explainCudaFailure(err);
        if (device === 'cuda') throw new InputError(pkg.dir, `--device cuda: ${reason}`, 'no-cuda');
        return ModelSessions.onCpu(pkg, `fell back to CPU: ${reason}`, precision);
      }
    }
    if (device === 'cuda' && precision === 'int8') throw new InputError(pkg.dir, '--precision int8 runs on the CPU only: give --device cpu or auto', 'usage');
    return ModelSessions.onCpu(pkg, fallbackReason ?? (precision === 'int8' ? 'int8 runs on the CPU' : 'CPU requested'), precision);
  }

  private static onCpu(pkg: LoadedModelPackage, reason: string, precision: PrecisionRequest): Promise<ModelSessions> {
    if (precision === 'fp32') return ModelSessions.open(pkg, 'cpu', reason, 'fp32', 'fp32 requested');
    if (pkg.int8Graphs) return ModelSessions.open(pkg, 'cpu', reason, 'int8', 'int8 variant of the package (CPU)');
    return ModelSessions.open(pkg, 'cpu', reason, 'fp32', 'the package has no int8 variant');
  }

  private static async open(pkg: LoadedModelPackage, provider: Provider, reason: string, precision: Precision, precisionReason: string): Promise<ModelSessions> {
    const opts = sessionOptions(provider);
    const graphs = precision === 'int8' ? pkg.int8Graphs! : pkg.graphs;
    const encoder = await ort.InferenceSession.create(graphs.targetEncoder, opts);
    const context = await ort.InferenceSession.create(graphs.contextBranch, opts);
    const decoder = await ort.InferenceSession.create(graphs.targetDecoder, opts);
    return new ModelSessions(encoder, context, decoder, { provider, reason, precision, precisionReason });
  }

  /**
   * CPU sessions of other graphs of the same model (calibration probes), with every run's outputs shown to
   * `observe` before the engine takes the ones it knows.
   */
  static async observed(graphs: Record<GraphRole, Uint8Array>, observe: (role: GraphRole, outputs: ort.InferenceSession.OnnxValueMapType) => void): Promise<ModelSessions> {
    const opts = sessionOptions('cpu');
    const open = async (role: GraphRole) => {
      const s = await ort.InferenceSession.create(graphs[role], opts);
      const run = s.run.bind(s);
      s.run = (async (feeds: ort.InferenceSession.FeedsType) => {
        const out = await run(feeds);
        observe(role, out);
        return out;
      }) as typeof s.run;
      return s;
    };
    return new ModelSessions(await open('targetEncoder'), await open('contextBranch'), await open('targetDecoder'), { provider: 'cpu', reason: 'calibration', precision: 'fp32', precisionReason: 'calibration probes' });
  }

  async release(): Promise<void> {
    await Promise.all([this.encoder.release(), this.context.release(), this.decoder.release()]);
  }
}
