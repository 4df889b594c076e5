/** What the Run panel calls each execution provider (the device choice and the list of providers tried). */
export const PROVIDER_NAMES: Record<string, string> = { cuda: 'CUDA', dml: 'DirectML', coreml: 'CoreML', webgpu: 'WebGPU', cpu: 'CPU' };
