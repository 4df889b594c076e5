import { defaultDataDir, resourcesDir } from '../settings/paths.js';
import { progressText } from '../workflow/progress-text.js';
import { standaloneRunServices } from '../workflow/standalone-services.js';
import type { CliIo } from './command.js';
import { cliProgress } from './progress.js';

/** The services of `run` and `batch`: this machine's data folder and resources, progress on the status line. */
export function cliRunServices(io: CliIo, o: { library?: string; workers?: number }) {
  const progress = cliProgress(io);
  const services = standaloneRunServices({
    dataDir: defaultDataDir(),
    resources: resourcesDir(),
    library: o.library,
    workers: o.workers,
    onProgress: (p) => progress.report(p.stage, p.fraction, progressText(p)),
  });
  return { progress, services };
}
