import { CancelledError, InputError } from '../../common/errors.js';
import type { ProviderChoice } from './device.js';
import type { ProviderAttempt } from './provider-types.js';
import { explainProviderFailure, isOutOfMemory } from './providers.js';

/** What `runWithFallback` needs of the engine: its current sessions' choice and a way to open the next ones. */
export interface FallbackHost {
  readonly choice: ProviderChoice;
  /** Opens sessions on the chain's next provider, leaving out those that failed in `earlier`. */
  reopen(earlier: ProviderAttempt[]): Promise<void>;
}

/**
 * Runs `job`; under `auto`, a GPU provider that fails at its first run (a kernel it cannot build, a driver
 * error) or runs out of memory later is left for the next provider of the chain and the job runs again there,
 * so the user's click is not lost. Cancels, input errors and named devices pass their errors through.
 * `proven` says whether the current sessions already finished a job; it is kept in the returned state.
 */
export async function runWithFallback<T>(
  host: FallbackHost,
  auto: boolean,
  proven: boolean,
  job: () => Promise<T>,
  signal?: AbortSignal,
): Promise<{ value: T; proven: true }> {
  for (;;) {
    try {
      return { value: await job(), proven: true };
    } catch (err) {
      const { provider, attempts } = host.choice;
      const ours = err instanceof InputError || err instanceof CancelledError || signal?.aborted;
      if (!auto || provider === 'cpu' || ours || (proven && !isOutOfMemory(err))) throw err;
      const failed: ProviderAttempt = {
        provider,
        outcome: proven ? 'failed-during-run' : 'failed-at-first-run',
        reason: explainProviderFailure(provider, err),
      };
      await host.reopen([...attempts.filter((a) => a.outcome !== 'used'), failed]);
      proven = false;
    }
  }
}
