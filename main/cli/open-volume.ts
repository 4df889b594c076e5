import { importSeries, openImagePath, type Volume } from '../imaging/index.js';
import type { CliIo } from './command.js';
import { cliProgress } from './progress.js';
import { lazyWorkerSeriesDecoder } from '../compute/dicom-decode.js';

/** Opens a NIfTI file or DICOM folder for a command; several series without --series is a clear error. */
export async function openVolumeForCli(path: string, seriesUid: string | undefined, io: CliIo, pick?: string): Promise<Volume> {
  const progress = cliProgress(io);
  try {
    // The same compute worker as the workstation's, so a series decodes (and fails) the same way in both.
    const opened = await openImagePath(path, seriesUid, progress.report, undefined, lazyWorkerSeriesDecoder(), pick);
    if (opened.kind === 'volume') return opened.volume;
    return await importSeries(opened.scan, undefined, undefined, undefined, undefined, pick); // several series: throws the list to pick from
  } finally {
    progress.done();
  }
}
