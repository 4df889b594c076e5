import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { InputError } from '../../common/errors.js';
import type { Precision } from '../package/manifest.js';

export type DeviceRequest = 'auto' | 'cpu' | 'cuda';
export type Provider = 'cuda' | 'cpu';

/** Which execution provider the sessions use and, in words, why (shown by the CLI and the UI). */
export interface ProviderChoice {
  provider: Provider;
  reason: string;
  /** Which graph set runs: int8 on the CPU where the package has it (unless fp32 was asked for). */
  precision: Precision;
  precisionReason: string;
}

/** auto: int8 on the CPU where the package has an int8 variant, else fp32. */
export type PrecisionRequest = 'auto' | Precision;

export function parsePrecision(value: string | undefined): PrecisionRequest {
  const v = (value ?? 'auto').toLowerCase();
  if (v === 'auto' || v === 'fp32' || v === 'int8') return v;
  throw new InputError(undefined, `--precision must be auto, fp32 or int8 (got "${value}")`, 'usage');
}

export function parseDevice(value: string | undefined): DeviceRequest {
  const v = (value ?? 'auto').toLowerCase();
  if (v === 'auto' || v === 'cpu' || v === 'cuda') return v;
  throw new InputError(undefined, `--device must be auto, cpu or cuda (got "${value}")`, 'usage');
}

/**
 * onnxruntime-node bundles only the CPU provider; the CUDA one is a separate shared library that its
 * installer fetches (ONNXRUNTIME_NODE_INSTALL=cuda12). Looking for that file first gives a clearer reason
 * than the loader's error text.
 */
export function cudaProviderInstalled(): boolean {
  try {
    const require = createRequire(import.meta.url);
    const pkgDir = dirname(require.resolve('onnxruntime-node/package.json'));
    const binDir = join(pkgDir, 'bin', 'napi-v6', process.platform, process.arch);
    const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
    return existsSync(join(binDir, lib));
  } catch {
    return false;
  }
}

/** Turns an ORT/CUDA failure message into the short reason we report for falling back to the CPU. */
export function explainCudaFailure(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/out of memory|failed to allocate|cudaErrorMemoryAllocation/i.test(msg)) return 'CUDA ran out of memory';
  if (/no CUDA-capable device|cudaGetDeviceCount|CUDA driver|cudaErrorNoDevice|cudaErrorInsufficientDriver/i.test(msg)) {
    return 'no usable NVIDIA GPU/driver';
  }
  if (/providers_cuda|libcudnn|libcublas|libcudart|cannot open shared object/i.test(msg)) {
    return 'CUDA provider libraries could not be loaded';
  }
  return `CUDA provider failed: ${msg.split('\n')[0].slice(0, 200)}`;
}

export function isOutOfMemory(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return /out of memory|failed to allocate|bad_alloc|cudaErrorMemoryAllocation/i.test(msg);
}

export function sessionOptions(provider: Provider): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider === 'cuda' ? 'cuda' : 'cpu'],
    graphOptimizationLevel: 'all',
    // ORT's CPU arena keeps the high-water mark of every call; without it memory follows the current
    // mini-context, which is what APSP's flat-in-L promise is about.
    enableCpuMemArena: false,
  };
}
