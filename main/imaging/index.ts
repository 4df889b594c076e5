/** Imaging I/O: the one place that turns files into Volumes and back. */
export { readNifti, parseNifti, parseNiftiAsync } from './nifti/read.js';
export { writeNifti, encodeNifti, NIFTI_INTENT } from './nifti/write.js';
export type { NiftiEncodeOptions } from './nifti/write.js';
export {
  scanDicomFolder,
  scanDicomFiles,
  importSeries,
  selectSeries,
  seriesSummaries,
  summariesWithVolumes,
  decodeSeries,
  decodeHeaders,
} from './dicom/index.js';
export {
  readDicomFile,
  importSegOnScan,
  readSeg,
  segReferencedSeries,
  referencedSeriesIn,
  segToLabelMap,
  segsBesideSeries,
  segsOnSeries,
  SEG_SOP_CLASS,
  labelValueNote,
} from './dicom/index.js';
export type { DicomFileInput, DicomScan, DicomSeries, Progress, SeriesDecoder, SegDocument, SegLabelMap, SegSegmentSummary } from './dicom/index.js';
export { applyAxisMapping, axisMapping, inverseAxisMapping, isOrientationCode, orientationCode, reorientTo, reorientToRas } from './reorient.js';
export type { AxisMapping } from './reorient.js';
export * from './volume.js';
export { openImagePath, isNiftiName } from './open.js';
export { correctSliceTilt, qformDeviationMm, sliceTiltDegrees } from './tilt.js';
