import * as ort from 'onnxruntime-node';
import type { LoadedModelPackage } from '../package/load-package.js';
import { cudaProviderInstalled, explainCudaFailure, sessionOptions } from './device.js';
import type { DeviceRequest, Provider, ProviderChoice } from './device.js';
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
  static async create(pkg: LoadedModelPackage, device: DeviceRequest, fallbackReason?: string): Promise<ModelSessions> {
    if (device !== 'cpu') {
      if (!cudaProviderInstalled()) {
        const reason = 'no CUDA provider installed (onnxruntime-node ships the CPU provider only)';
        if (device === 'cuda') throw new InputError(pkg.dir, `--device cuda: ${reason}`, 'no-cuda');
        return ModelSessions.open(pkg, 'cpu', `fell back to CPU: ${reason}`);
      }
      try {
        return await ModelSessions.open(pkg, 'cuda', 'CUDA execution provider');
      } catch (err) {
        const reason = explainCudaFailure(err);
        if (device === 'cuda') throw new InputError(pkg.dir, `--device cuda: ${reason}`, 'no-cuda');
        return ModelSessions.open(pkg, 'cpu', `fell back to CPU: ${reason}`);
      }
    }
    return ModelSessions.open(pkg, 'cpu', fallbackReason ?? 'CPU requested');
  }

  private static async open(pkg: LoadedModelPackage, provider: Provider, reason: string): Promise<ModelSessions> {
    const opts = sessionOptions(provider);
    const encoder = await ort.InferenceSession.create(pkg.graphs.targetEncoder, opts);
    const context = await ort.InferenceSession.create(pkg.graphs.contextBranch, opts);
    const decoder = await ort.InferenceSession.create(pkg.graphs.targetDecoder, opts);
    return new ModelSessions(encoder, context, decoder, { provider, reason });
  }

  async release(): Promise<void> {
    await Promise.all([this.encoder.release(), this.context.release(), this.decoder.release()]);
  }
}
