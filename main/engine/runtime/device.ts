import { InputError } from '../../common/errors.js';
import type { Precision } from '../package/manifest.js';
import { PROVIDERS } from './provider-types.js';
import type { DeviceRequest, PrecisionRequest, Provider, ProviderAttempt } from './provider-types.js';

export type { DeviceRequest, PrecisionRequest, Provider, ProviderAttempt } from './provider-types.js';

/** Which execution provider the sessions use and, in words, why (shown by the CLI and the UI). */
export interface ProviderChoice {
  provider: Provider;
  reason: string;
  /** Every provider the chain considered, in order, with what happened to it. */
  attempts: ProviderAttempt[];
  /** Which graph set runs: int8 on the CPU where the package has it (unless fp32 was asked for). */
  precision: Precision;
  precisionReason: string;
}

export function parsePrecision(value: string | undefined): PrecisionRequest {
  const v = (value ?? 'auto').toLowerCase();
  if (v === 'auto' || v === 'fp32' || v === 'int8') return v;
  throw new InputError(undefined, `--precision must be auto, fp32 or int8 (got "${value}")`, 'usage');
}

/** Users know DirectML by its name; ONNX Runtime calls it "dml". */
const DEVICE_ALIASES: Record<string, DeviceRequest> = { directml: 'dml' };

export const DEVICE_CHOICES = 'auto, cpu, cuda, directml, coreml or webgpu';

export function parseDevice(value: string | undefined): DeviceRequest {
  const v = (value ?? 'auto').toLowerCase();
  if (v === 'auto' || (PROVIDERS as readonly string[]).includes(v)) return v as DeviceRequest;
  if (Object.hasOwn(DEVICE_ALIASES, v)) return DEVICE_ALIASES[v];
  throw new InputError(undefined, `--device must be ${DEVICE_CHOICES} (got "${value}")`, 'usage');
}
