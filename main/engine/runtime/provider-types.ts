/**
 * Plain data of the execution-provider choice, apart from the code that reads the machine (providers.ts), so
 * the renderer can name these types without pulling Node's modules into its type graph.
 */

/**
 * The execution providers the engine knows, in the order `--device auto` tries them: a discrete NVIDIA GPU
 * first, then the platform's own GPU/NPU API, then WebGPU (any GPU with a Vulkan, D3D12 or Metal driver),
 * then the CPU, which always works.
 */
export const PROVIDERS = ['cuda', 'dml', 'coreml', 'webgpu', 'cpu'] as const;
export type Provider = (typeof PROVIDERS)[number];
export type DeviceRequest = 'auto' | Provider;

/** auto: int8 on the CPU where the package has an int8 variant, else fp32. */
export type PrecisionRequest = 'auto' | 'fp32' | 'int8';

/** Whether one provider can be tried on this machine, and if not, why in words. */
export interface ProviderAvailability {
  provider: Provider;
  available: boolean;
  reason: string;
  /**
   * What is missing when unavailable: the provider is not compiled into this build, its library is not
   * installed, or (Linux) no GPU driver layer was found, which only the runtime itself can confirm.
   */
  missing?: 'build' | 'library' | 'driver';
}

/** What the provider chain did with one provider during a session's life (shown in the Run panel and CLI JSON). */
export interface ProviderAttempt {
  provider: Provider;
  outcome: 'used' | 'unavailable' | 'skipped' | 'failed-at-creation' | 'failed-at-first-run' | 'failed-during-run';
  reason: string;
  /** For an unavailable provider: what is missing (as ProviderAvailability). */
  missing?: ProviderAvailability['missing'];
}
