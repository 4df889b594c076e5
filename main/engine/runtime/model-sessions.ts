import * as ort from 'onnxruntime-node';
import type { LoadedModelPackage } from '../package/load-package.js';
import type { GraphRole, Precision } from '../package/manifest.js';
import type { DeviceRequest, PrecisionRequest, ProviderChoice } from './device.js';
import { availability, candidates, choiceReason, explainProviderFailure, firstThatOpens, currentFacts, PROVIDER_LABEL, sessionOptions } from './providers.js';
import type { MachineFacts, Provider, ProviderAttempt } from './providers.js';
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
   * Opens the three sessions on the first provider of the chain that accepts them (`auto`: CUDA, DirectML,
   * CoreML, WebGPU, CPU; see providers.ts), each one left behind recorded with its reason. A named device is
   * tried alone and its refusal is an error, not a silent fallback. `earlier`: attempts of this job so far
   * (a provider that failed at its first run is not tried again).
   */
  static async create(
    pkg: LoadedModelPackage,
    device: DeviceRequest,
    precision: PrecisionRequest = 'auto',
    opts: { earlier?: ProviderAttempt[]; facts?: MachineFacts; profilePrefix?: string } = {},
  ): Promise<ModelSessions> {
    if (precision === 'int8' && !pkg.int8Graphs) {
      throw new InputError(pkg.dir, '--precision int8: this package has no int8 variant (neuroverse model import ... --precision int8 makes one)', 'usage');
    }
    if (device !== 'auto' && device !== 'cpu' && precision === 'int8') {
      throw new InputError(pkg.dir, '--precision int8 runs on the CPU only: give --device cpu or auto', 'usage');
    }
    const facts = opts.facts ?? currentFacts();
    const named = device !== 'auto' ? availability(device, facts) : null;
    // A missing driver layer is only our guess (a driver may sit elsewhere): asked for by name, the provider is
    // tried and the runtime's own refusal is the answer. A missing build or library is certain.
    if (named && !named.available && named.missing !== 'driver') throw ModelSessions.refused(pkg, named.provider, named.reason);
    const chain = candidates(device, facts, precision !== 'int8');
    const earlier = opts.earlier ?? [];
    const failed = new Set(earlier.filter((a) => a.outcome.startsWith('failed')).map((a) => a.provider));
    try {
      const r = await firstThatOpens(
        chain.try.filter((p) => !failed.has(p)),
        (p) => ModelSessions.open(pkg, p, precision, opts.profilePrefix),
        [...earlier.filter((a) => a.outcome !== 'used'), ...chain.attempts.filter((a) => !earlier.some((e) => e.provider === a.provider))],
      );
      r.value.choice.attempts = r.attempts;
      r.value.choice.reason = choiceReason(r.attempts);
      return r.value;
    } catch (err) {
      if (device === 'auto') throw err;
      const hint = named && !named.available ? ` (${named.reason})` : '';
      throw ModelSessions.refused(pkg, device, explainProviderFailure(device, err) + hint);
    }
  }

  private static refused(pkg: LoadedModelPackage, device: Provider, reason: string): InputError {
    const flag = device === 'dml' ? 'directml' : device;
    return new InputError(pkg.dir, `--device ${flag}: ${reason}`, device === 'cuda' ? 'no-cuda' : 'no-device');
  }

  /**
   * int8 graphs run on the CPU only (QLinearConv); GPU providers get the fp32 graphs. `profilePrefix`: ONNX
   * Runtime's own per-node profile (benchmarks only), one JSON file per graph, written at `endProfiling`.
   */
  private static async open(pkg: LoadedModelPackage, provider: Provider, request: PrecisionRequest, profilePrefix?: string): Promise<ModelSessions> {
    const [precision, precisionReason]: [Precision, string] =
      provider !== 'cpu'
        ? ['fp32', `fp32 on ${PROVIDER_LABEL[provider]}`]
        : request === 'fp32'
          ? ['fp32', 'fp32 requested']
          : pkg.int8Graphs
            ? ['int8', 'int8 variant of the package (CPU)']
            : ['fp32', 'the package has no int8 variant'];
    const graphs = precision === 'int8' ? pkg.int8Graphs! : pkg.graphs;
    const sessions: ort.InferenceSession[] = [];
    try {
      for (const [role, g] of [
        ['targetEncoder', graphs.targetEncoder],
        ['contextBranch', graphs.contextBranch],
        ['targetDecoder', graphs.targetDecoder],
      ] as const) {
        const profiling = profilePrefix ? { enableProfiling: true, profileFilePrefix: `${profilePrefix}-${role}` } : {};
        sessions.push(await ort.InferenceSession.create(g, { ...sessionOptions(provider), ...profiling }));
      }
    } catch (err) {
      // A provider that took one graph and refused the next must not keep the first one's device memory.
      await Promise.all(sessions.map((s) => s.release()));
      throw err;
    }
    const [encoder, context, decoder] = sessions;
    return new ModelSessions(encoder, context, decoder, { provider, reason: '', attempts: [], precision, precisionReason });
  }

  /**
   * CPU sessions of other graphs of the same model (calibration probes), with every run's outputs shown to
   * `observe` before the engine takes the ones it knows.
   */
  static async observed(
    graphs: Record<GraphRole, Uint8Array>,
    observe: (role: GraphRole, outputs: ort.InferenceSession.OnnxValueMapType) => void,
  ): Promise<ModelSessions> {
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
    return new ModelSessions(await open('targetEncoder'), await open('contextBranch'), await open('targetDecoder'), {
      provider: 'cpu',
      reason: 'calibration',
      attempts: [],
      precision: 'fp32',
      precisionReason: 'calibration probes',
    });
  }

  async release(): Promise<void> {
    await Promise.all([this.encoder.release(), this.context.release(), this.decoder.release()]);
  }
}
