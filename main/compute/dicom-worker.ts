import { decodeJob, type DicomJobs } from './dicom-job.js';
import { serveJobs } from './serve.js';

/** Compute worker that assembles DICOM series (header parse, pixels, dcm2niix) off the serving thread. */
serveJobs<DicomJobs>({ 'dicom-decode': decodeJob });
