import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, InputError } from '../../main/common/errors.js';
import { importCheckpoint, InferenceEngine, parseDevice } from '../../main/engine/index.js';
import { loadModelPackage } from '../../main/engine/package/load-package.js';
import type { LoadedModelPackage } from '../../main/engine/package/load-package.js';
import type { ProviderChoice } from '../../main/engine/runtime/device.js';
import { ModelSessions } from '../../main/engine/runtime/model-sessions.js';
import { runWithFallback } from '../../main/engine/runtime/provider-fallback.js';
import type { ProviderAttempt } from '../../main/engine/runtime/provider-types.js';
import {
  availability,
  candidates,
  choiceReason,
  explainProviderFailure,
  firstThatOpens,
  machineFacts,
  PROVIDERS,
} from '../../main/engine/runtime/providers.js';
import type { MachineFacts } from '../../main/engine/runtime/providers.js';
import { FIXTURES } from './fixture-helpers.js';

const facts = (platform: string, arch: string, bundled: string[], cudaInstalled = false, vulkanLoader: boolean | null = null): MachineFacts => ({
  platform,
  arch,
  bundled: new Set(['cpu', ...bundled]),
  cudaInstalled,
  vulkanLoader,
});

// What onnxruntime-node 1.30's npm package bundles per platform (its bin/napi-v6 folders; `listSupportedBackends`).
const PLATFORMS: Record<string, MachineFacts> = {
  'linux-x64, NVIDIA GPU, CUDA provider installed': facts('linux', 'x64', ['webgpu'], true, true),
  'linux-x64, GPU with Vulkan driver': facts('linux', 'x64', ['webgpu'], false, true),
  'linux-x64, no GPU driver (this machine)': facts('linux', 'x64', ['webgpu'], false, false),
  'win32-x64': facts('win32', 'x64', ['dml', 'webgpu']),
  'win32-x64, CUDA provider installed': facts('win32', 'x64', ['dml', 'webgpu'], true),
  'darwin-arm64': facts('darwin', 'arm64', ['coreml', 'webgpu']),
};

describe('provider chain: which providers auto tries, per platform', () => {
  it.each([
    ['linux-x64, NVIDIA GPU, CUDA provider installed', ['cuda', 'webgpu', 'cpu']],
    ['linux-x64, GPU with Vulkan driver', ['webgpu', 'cpu']],
    ['linux-x64, no GPU driver (this machine)', ['cpu']],
    ['win32-x64', ['dml', 'webgpu', 'cpu']],
    ['win32-x64, CUDA provider installed', ['cuda', 'dml', 'webgpu', 'cpu']],
    ['darwin-arm64', ['coreml', 'webgpu', 'cpu']],
  ])('%s → %j', (name, order) => {
    const c = candidates('auto', PLATFORMS[name]);
    expect(c.try).toEqual(order);
    // Every provider of the chain is accounted for: tried, or recorded as unavailable with a reason.
    expect([...c.try, ...c.attempts.map((a) => a.provider)].sort()).toEqual([...PROVIDERS].sort());
    for (const a of c.attempts) expect(a.reason.length).toBeGreaterThan(10);
  });

  it('names why a provider cannot be tried', () => {
    const linux = PLATFORMS['linux-x64, no GPU driver (this machine)'];
    expect(availability('cuda', linux).reason).toMatch(/no CUDA provider installed/);
    expect(availability('dml', linux).reason).toBe("not in onnxruntime-node's build for linux-x64");
    expect(availability('webgpu', linux).reason).toMatch(/no Vulkan loader/);
    expect(availability('webgpu', facts('darwin', 'x64', [])).reason).toBe("not in onnxruntime-node's build for darwin-x64");
    // What is missing decides whether a named device is still tried: only a driver we may have failed to find.
    expect(['cuda', 'dml', 'webgpu', 'cpu'].map((p) => availability(p as 'cuda', linux).missing)).toEqual(['library', 'build', 'driver', undefined]);
  });

  it('keeps int8 graphs on the CPU: GPU providers are skipped, with the reason', () => {
    const c = candidates('auto', PLATFORMS['win32-x64, CUDA provider installed'], false);
    expect(c.try).toEqual(['cpu']);
    expect(c.attempts.filter((a) => a.outcome === 'skipped').map((a) => a.provider)).toEqual(['cuda', 'dml', 'webgpu']);
  });

  it('tries a named device alone', () => {
    expect(candidates('webgpu', PLATFORMS['linux-x64, no GPU driver (this machine)']).try).toEqual(['webgpu']);
  });

  it('parses device names, DirectML by its own name too', () => {
    expect(parseDevice('DirectML')).toBe('dml');
    expect(parseDevice('webgpu')).toBe('webgpu');
    expect(parseDevice(undefined)).toBe('auto');
    expect(() => parseDevice('tpu')).toThrow(/--device must be auto, cpu, cuda, directml, coreml or webgpu/);
  });

  it('reads this machine: the binding bundles CPU and WebGPU on linux-x64, and no CUDA provider is installed', () => {
    const m = machineFacts();
    expect(m.bundled).toEqual(
      new Set(
        ort
          .listSupportedBackends()
          .filter((b) => b.bundled)
          .map((b) => b.name),
      ),
    );
    expect(m.bundled.has('cpu')).toBe(true);
    if (m.platform === 'linux' && m.arch === 'x64') expect(m.bundled.has('webgpu')).toBe(true);
  });
});

describe('provider chain: opening in order (GPU providers that cannot run here stand in as refusing openers)', () => {
  it('uses the first provider that opens and records each refusal with its explained reason', async () => {
    const tried: string[] = [];
    const r = await firstThatOpens(['cuda', 'dml', 'cpu'], async (p) => {
      tried.push(p);
      if (p === 'cuda') throw new Error('CUDA failure 100: no CUDA-capable device is detected');
      if (p === 'dml') throw new Error('D3D12CreateDevice failed 0x887A0004');
      return `sessions on ${p}`;
    });
    expect(tried).toEqual(['cuda', 'dml', 'cpu']);
    expect(r.value).toBe('sessions on cpu');
    expect(r.attempts).toEqual([
      { provider: 'cuda', outcome: 'failed-at-creation', reason: 'no usable NVIDIA GPU/driver' },
      { provider: 'dml', outcome: 'failed-at-creation', reason: 'no DirectX 12 device for DirectML' },
      { provider: 'cpu', outcome: 'used', reason: 'CPU execution provider' },
    ]);
    expect(choiceReason(r.attempts)).toBe(
      'fell back to CPU: CUDA failed at creation: no usable NVIDIA GPU/driver; DirectML failed at creation: no DirectX 12 device for DirectML',
    );
  });

  it('throws the last error with every attempt attached when nothing opens', async () => {
    const err = await firstThatOpens(['webgpu'], async () => {
      throw new Error('Failed to get a WebGPU adapter');
    }).catch((e) => e);
    expect(err.providerAttempts).toEqual([{ provider: 'webgpu', outcome: 'failed-at-creation', reason: expect.stringMatching(/no WebGPU adapter/) }]);
  });

  it('explains out-of-memory the same for every provider', () => {
    expect(explainProviderFailure('cuda', new Error('CUDA failure 2: out of memory'))).toBe('CUDA ran out of memory');
    expect(explainProviderFailure('dml', new Error('E_OUTOFMEMORY'))).toBe('DirectML ran out of memory');
  });
});

describe('provider fallback at run time', () => {
  /** An engine's view of its sessions: starts on `first`, each reopen moves to what `next` names. */
  function host(first: ProviderChoice['provider'], next: ProviderChoice['provider'][]) {
    const reopened: ProviderAttempt[][] = [];
    const h = {
      choice: {
        provider: first,
        reason: '',
        attempts: [{ provider: first, outcome: 'used', reason: '' }],
        precision: 'fp32',
        precisionReason: '',
      } as ProviderChoice,
      reopened,
      async reopen(earlier: ProviderAttempt[]) {
        reopened.push(earlier);
        const p = next.shift()!;
        h.choice = { ...h.choice, provider: p, attempts: [...earlier, { provider: p, outcome: 'used', reason: '' }] };
      },
    };
    return h;
  }

  it('a GPU provider failing at its first run is left and the same job runs on the next one', async () => {
    const h = host('webgpu', ['cpu']);
    let calls = 0;
    const r = await runWithFallback(h, true, false, async () => {
      calls++;
      if (h.choice.provider === 'webgpu') throw new Error('[WebGPU] Kernel "Conv" failed: shader compilation error');
      return 'mask';
    });
    expect(r).toEqual({ value: 'mask', proven: true });
    expect(calls).toBe(2);
    expect(h.reopened[0].at(-1)).toMatchObject({
      provider: 'webgpu',
      outcome: 'failed-at-first-run',
      reason: expect.stringMatching(/^WebGPU failed: \[WebGPU\] Kernel "Conv"/),
    });
  });

  it('walks the chain further when the next provider fails too', async () => {
    const h = host('cuda', ['webgpu', 'cpu']);
    const r = await runWithFallback(h, true, false, async () => {
      if (h.choice.provider !== 'cpu') throw new Error(`${h.choice.provider} broke`);
      return 1;
    });
    expect(r.value).toBe(1);
    expect(h.reopened.map((e) => e.map((a) => `${a.provider}:${a.outcome}`))).toEqual([
      ['cuda:failed-at-first-run'],
      ['cuda:failed-at-first-run', 'webgpu:failed-at-first-run'],
    ]);
  });

  it('after a proven run only out-of-memory moves on; other errors are the job’s', async () => {
    const h = host('cuda', ['cpu']);
    await expect(runWithFallback(h, true, true, async () => Promise.reject(new Error('some kernel bug')))).rejects.toThrow('some kernel bug');
    expect(h.reopened).toHaveLength(0);
    let n = 0;
    const r = await runWithFallback(h, true, true, async () => {
      if (n++ === 0) throw new Error('CUDA failure 2: out of memory');
      return 'ok';
    });
    expect(r.value).toBe('ok');
    expect(h.reopened[0].at(-1)).toMatchObject({ provider: 'cuda', outcome: 'failed-during-run', reason: 'CUDA ran out of memory' });
  });

  it('passes cancels, input errors, named devices and CPU failures through unchanged', async () => {
    const fail = (e: Error) => async () => Promise.reject(e);
    await expect(runWithFallback(host('webgpu', ['cpu']), true, false, fail(new CancelledError('run')))).rejects.toBeInstanceOf(CancelledError);
    await expect(runWithFallback(host('webgpu', ['cpu']), true, false, fail(new InputError('a.nii', 'bad')))).rejects.toBeInstanceOf(InputError);
    await expect(runWithFallback(host('webgpu', ['cpu']), false, false, fail(new Error('x')))).rejects.toThrow('x');
    await expect(runWithFallback(host('cpu', []), true, false, fail(new Error('y')))).rejects.toThrow('y');
  });
});

describe('provider chain on the real ONNX Runtime of this machine', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'nv-providers-'));
  let pkg: LoadedModelPackage;

  beforeAll(async () => {
    await importCheckpoint(join(FIXTURES, 'tiny.safetensors'), join(tmp, 'm'), { grid: [32, 32, 32] });
    pkg = await loadModelPackage(join(tmp, 'm'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('auto on this machine runs on the CPU and says what it left and why', async () => {
    const s = await ModelSessions.create(pkg, 'auto');
    try {
      expect(s.choice.provider).toBe('cpu');
      expect(s.choice.attempts.map((a) => a.provider)).toEqual([...PROVIDERS]);
      expect(s.choice.attempts.at(-1)).toEqual({ provider: 'cpu', outcome: 'used', reason: 'CPU execution provider' });
      expect(s.choice.attempts.find((a) => a.provider === 'cuda')).toMatchObject({
        outcome: 'unavailable',
        reason: expect.stringMatching(/no CUDA provider installed/),
      });
    } finally {
      await s.release();
    }
  });

  it('--device webgpu without a GPU is refused by ONNX Runtime itself, as an error naming the package and the reason', async () => {
    const err = await ModelSessions.create(pkg, 'webgpu').then(
      async (s) => {
        await s.release();
        return null;
      },
      (e) => e,
    );
    // Where a WebGPU adapter exists (a GPU with a driver), the sessions open instead: nothing to refuse.
    if (err === null) return expect(machineFacts().vulkanLoader ?? true).toBe(true);
    expect(err).toBeInstanceOf(InputError);
    expect(err.code).toBe('no-device');
    expect(err.message).toContain(pkg.dir);
    expect(err.message).toMatch(/--device webgpu: no WebGPU adapter/);
  });

  it('auto where a Vulkan loader exists tries WebGPU for real; its refusal here leaves the run on the CPU, same result', async () => {
    const m = machineFacts();
    const s = await ModelSessions.create(pkg, 'auto', 'auto', { facts: { ...m, vulkanLoader: true } });
    await s.release();
    const webgpu = s.choice.attempts.find((a) => a.provider === 'webgpu')!;
    if (s.choice.provider === 'webgpu') return; // a real adapter: the chain stopped there, as it should
    expect(webgpu).toMatchObject({ outcome: 'failed-at-creation', reason: expect.stringMatching(/no WebGPU adapter/) });
    expect(s.choice.reason).toMatch(/^fell back to CPU: WebGPU failed at creation: no WebGPU adapter/);
  });

  it('--device directml on Linux is an error naming the platform', async () => {
    if (process.platform === 'win32') return;
    await expect(ModelSessions.create(pkg, 'dml')).rejects.toThrow(/--device directml: not in onnxruntime-node's build for/);
  });

  it('the engine reports the chain in its choice', async () => {
    const e = await InferenceEngine.open(join(tmp, 'm'), 'auto');
    try {
      expect(e.choice.attempts.length).toBe(PROVIDERS.length);
      expect(e.choice.reason).toMatch(/fell back to CPU: .*no CUDA provider installed/);
    } finally {
      await e.release();
    }
  });
});
