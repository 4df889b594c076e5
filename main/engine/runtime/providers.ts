import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';

import { PROVIDERS } from './provider-types.js';
import type { Provider, ProviderAttempt, ProviderAvailability } from './provider-types.js';

export { PROVIDERS };
export type { Provider, ProviderAttempt, ProviderAvailability };

export const PROVIDER_LABEL: Record<Provider, string> = { cuda: 'CUDA', dml: 'DirectML', coreml: 'CoreML', webgpu: 'WebGPU', cpu: 'CPU' };

/** The facts the chain is decided on; read from the machine by `machineFacts`, given by tests. */
export interface MachineFacts {
  platform: string;
  arch: string;
  /** Backends compiled into this onnxruntime-node binary (its `listSupportedBackends`, `bundled: true`). */
  bundled: ReadonlySet<string>;
  /** CUDA's provider is a separate library that onnxruntime-node's installer fetches on request. */
  cudaInstalled: boolean;
  /** Linux only: Dawn (ORT's WebGPU) reaches the GPU through the Vulkan loader; null where not applicable. */
  vulkanLoader: boolean | null;
}

function ortBinDir(): string | null {
  try {
    const require = createRequire(import.meta.url);
    return join(dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return null;
  }
}

/** The Vulkan loader's usual places on Debian/Ubuntu/Fedora/Arch; a driver without it cannot serve Dawn. */
const VULKAN_LOADER_PATHS = [
  '/usr/lib/x86_64-linux-gnu/libvulkan.so.1',
  '/usr/lib/aarch64-linux-gnu/libvulkan.so.1',
  '/usr/lib64/libvulkan.so.1',
  '/usr/lib/libvulkan.so.1',
];

export function machineFacts(): MachineFacts {
  const bin = ortBinDir();
  const cudaLib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  return {
    platform: process.platform,
    arch: process.arch,
    bundled: new Set(
      ort
        .listSupportedBackends()
        .filter((b) => b.bundled)
        .map((b) => b.name),
    ),
    cudaInstalled: bin !== null && existsSync(join(bin, cudaLib)),
    vulkanLoader: process.platform === 'linux' ? VULKAN_LOADER_PATHS.some((p) => existsSync(p)) : null,
  };
}

let facts: MachineFacts | null = null;

/** This machine's facts, read once per process: the binary and the libraries do not change under a running app. */
export function currentFacts(): MachineFacts {
  facts ??= machineFacts();
  return facts;
}

/** Every provider in auto's order with whether this machine can try it. */
export function providerAvailability(): ProviderAvailability[] {
  return PROVIDERS.map((p) => availability(p, currentFacts()));
}

export function availability(provider: Provider, m: MachineFacts): ProviderAvailability {
  const where = `${m.platform}-${m.arch}`;
  switch (provider) {
    case 'cpu':
      return { provider, available: true, reason: 'always available' };
    case 'cuda':
      return m.cudaInstalled
        ? { provider, available: true, reason: 'CUDA provider library installed' }
        : {
            provider,
            available: false,
            missing: 'library',
            reason: 'no CUDA provider installed (scripts/setup.sh installs it where an NVIDIA GPU is present)',
          };
    case 'webgpu':
      if (!m.bundled.has('webgpu')) return { provider, available: false, missing: 'build', reason: `not in onnxruntime-node's build for ${where}` };
      if (m.vulkanLoader === false)
        return { provider, available: false, missing: 'driver', reason: 'no Vulkan loader (libvulkan.so.1), so WebGPU cannot reach a GPU' };
      return { provider, available: true, reason: 'bundled with onnxruntime-node' };
    default:
      return m.bundled.has(provider)
        ? { provider, available: true, reason: 'bundled with onnxruntime-node' }
        : { provider, available: false, missing: 'build', reason: `not in onnxruntime-node's build for ${where}` };
  }
}

/**
 * The providers to try, in order, for a device request. `auto` walks the whole chain; a named provider is
 * tried alone (and tried even where the machine facts say it will fail, so the user gets the runtime's own
 * refusal). `gpuAllowed` is false for int8 graphs, whose QLinearConv kernels only the CPU provider has.
 */
export function candidates(device: 'auto' | Provider, m: MachineFacts, gpuAllowed = true): { try: Provider[]; attempts: ProviderAttempt[] } {
  if (device !== 'auto') return { try: [device], attempts: [] };
  const attempts: ProviderAttempt[] = [];
  const order: Provider[] = [];
  for (const p of PROVIDERS) {
    if (p === 'cpu') {
      order.push(p);
      continue;
    }
    const a = availability(p, m);
    if (!a.available) attempts.push({ provider: p, outcome: 'unavailable', reason: a.reason, missing: a.missing });
    else if (!gpuAllowed) attempts.push({ provider: p, outcome: 'skipped', reason: 'the int8 graphs run on the CPU only' });
    else order.push(p);
  }
  return { try: order, attempts };
}

/**
 * Opens sessions on the first provider of `order` that accepts them; each refusal is recorded with its
 * reason. Throws the last provider's error (with every attempt attached) when none opens.
 */
export async function firstThatOpens<S>(
  order: Provider[],
  open: (p: Provider) => Promise<S>,
  earlier: ProviderAttempt[] = [],
): Promise<{ value: S; provider: Provider; attempts: ProviderAttempt[] }> {
  const attempts = [...earlier];
  let last: unknown = new Error('no execution provider to try');
  for (const provider of order) {
    try {
      const value = await open(provider);
      attempts.push({ provider, outcome: 'used', reason: provider === 'cpu' ? 'CPU execution provider' : `${PROVIDER_LABEL[provider]} execution provider` });
      return { value, provider, attempts };
    } catch (err) {
      last = err;
      attempts.push({ provider, outcome: 'failed-at-creation', reason: explainProviderFailure(provider, err) });
    }
  }
  throw Object.assign(last instanceof Error ? last : new Error(String(last)), { providerAttempts: attempts });
}

/** Turns an ORT failure into the short reason we report for leaving a provider. */
export function explainProviderFailure(provider: Provider, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const name = PROVIDER_LABEL[provider];
  if (isOutOfMemory(err)) return `${name} ran out of memory`;
  if (/backend not found|no available backend/i.test(msg)) return `${name} is not in this build of onnxruntime-node`;
  if (provider === 'cuda') {
    if (/no CUDA-capable device|cudaGetDeviceCount|CUDA driver|cudaErrorNoDevice|cudaErrorInsufficientDriver/i.test(msg)) return 'no usable NVIDIA GPU/driver';
    if (/providers_cuda|libcudnn|libcublas|libcudart|cannot open shared object|Failed to load shared library/i.test(msg))
      return 'CUDA provider libraries could not be loaded';
  }
  if (provider === 'webgpu' && /WebGPU adapter|RequestAdapter|adapter/i.test(msg))
    return 'no WebGPU adapter: no GPU, or its driver offers no Vulkan/D3D12/Metal support';
  if (provider === 'dml' && /D3D12|DXGI|DirectML|0x887a/i.test(msg)) return 'no DirectX 12 device for DirectML';
  return `${name} failed: ${msg.split('\n')[0].slice(0, 200)}`;
}

export function isOutOfMemory(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return /out of memory|failed to allocate|bad_alloc|cudaErrorMemoryAllocation|E_OUTOFMEMORY/i.test(msg);
}

/** The reason line of a choice: the provider used, after what was left behind. */
export function choiceReason(attempts: ProviderAttempt[]): string {
  const used = attempts.find((a) => a.outcome === 'used');
  const left = attempts.filter((a) => a.outcome !== 'used' && a.outcome !== 'unavailable' && a.outcome !== 'skipped');
  const unavailable = attempts.filter((a) => a.outcome === 'unavailable');
  if (!used) return 'no provider';
  const parts: string[] = [];
  for (const a of left) parts.push(`${PROVIDER_LABEL[a.provider]} ${a.outcome.replace(/-/g, ' ')}: ${a.reason}`);
  // A provider this platform's build never has (DirectML on Linux) is not news; a missing driver or library is.
  const news = unavailable.filter((a) => a.missing !== 'build');
  if (used.provider === 'cpu' && !left.length && news.length) parts.push(news.map((a) => `${PROVIDER_LABEL[a.provider]}: ${a.reason}`).join('; '));
  if (!parts.length) return used.reason;
  return `${used.provider === 'cpu' ? 'fell back to CPU' : `using ${PROVIDER_LABEL[used.provider]}`}: ${parts.join('; ')}`;
}

export function sessionOptions(provider: Provider): ort.InferenceSession.SessionOptions {
  const common: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    // ORT's CPU arena keeps the high-water mark of every call; without it memory follows the current
    // mini-context, which is what APSP's flat-in-L promise is about.
    enableCpuMemArena: false,
  };
  // ORT places every node a GPU provider cannot run on its CPU provider, so one list entry is enough.
  if (provider === 'cpu') return { ...common, executionProviders: ['cpu'] };
  // DirectML's documented limits: no memory pattern planning, no parallel execution of the graph.
  if (provider === 'dml') return { ...common, executionProviders: ['dml'], enableMemPattern: false, executionMode: 'sequential' };
  return { ...common, executionProviders: [provider] };
}
