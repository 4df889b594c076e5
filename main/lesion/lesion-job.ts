import type { JobHandler, StepProgress } from '../compute/protocol.js';
import type { ClassifierOptions } from './classifier.js';
import { readLesionCase, segmentLesions, type LesionCaseFiles, type LesionMethod, type LesionRunResult } from './segment-lesions.js';

/** One lesion run as plain data: file names travel, each worker reads the volumes itself (nothing large is copied). */
export interface LesionJob {
  method: LesionMethod;
  target: LesionCaseFiles;
  examples: LesionCaseFiles[];
  options?: Partial<ClassifierOptions>;
}

/** Reads the target and examples, runs the method; the mask comes back by transfer. */
export async function runLesionJob(job: LesionJob, progress: (fraction: number | null, message: string) => void = () => {}): Promise<LesionRunResult> {
  const t0 = performance.now();
  const channels = job.target.images.length;
  progress(0, 'reading the target and examples');
  // A target already in memory (the app's open volume, a DICOM series) comes with the job: it may have no file.
  const target = await readLesionCase({ images: job.target.images, first: job.target.first }, channels);
  const examples = [];
  for (const e of job.examples) {
    if (!e.label) throw new Error('every lesion example needs its mask');
    const r = await readLesionCase(e, channels);
    examples.push({ image: r.image, label: r.label! });
  }
  const read = (performance.now() - t0) / 1000;
  const r = segmentLesions(job.method, target.image, examples, job.options, (f, m) => progress(f, m));
  return { ...r, seconds: { read, ...r.seconds, total: (performance.now() - t0) / 1000 } };
}

/** The job of the lesion workers (lesion-worker.ts). */
export type LesionJobs = { lesion: { payload: LesionJob; result: LesionRunResult; progress: StepProgress } };

export const lesionJob: JobHandler<LesionJobs['lesion']> = async (job, progress) => {
  const r = await runLesionJob(job, (fraction, message) => progress({ fraction, message }));
  return { value: r, transfer: [r.mask.buffer as ArrayBuffer] };
};
