import type { ErrorPayload } from '../common/errors.js';

/** Events of long jobs, as the API's transports deliver them. */
export interface ProgressEvent {
  type: 'progress';
  jobId: string;
  /** Domain name of the step: "scan", "import", "convert", "encode-target", "mini-context"... */
  stage: string;
  /** 0..1, or null when unknown. */
  fraction: number | null;
  message: string;
}

export interface JobDoneEvent {
  type: 'job-done';
  jobId: string;
  ok: boolean;
  error?: ErrorPayload;
}

export type ApiEvent = ProgressEvent | JobDoneEvent;
