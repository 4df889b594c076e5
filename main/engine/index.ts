/** Public surface of the inference engine; everything else in main/engine is internal. */
export type { Architecture } from './model/architecture.js';
export { inferArchitecture, expectedShapes, parameterCount, OFFICIAL_CHANNELS } from './model/architecture.js';
export type { StateDict, WeightTensor } from './model/state-dict.js';
export { buildGraphs, io as graphIo, OPSET } from './model/build-graphs.js';
export { parseSafetensors } from './checkpoint/safetensors.js';
export type { Manifest, Precision, Int8Variant, GraphRole, GridFitRule, AlignedFrameRule, IntensityNormalization } from './package/manifest.js';
export { loadModelPackage, readManifest } from './package/load-package.js';
export type { LoadedModelPackage } from './package/load-package.js';
export { writeModelPackage } from './package/write-package.js';
export { ModelSessions } from './runtime/model-sessions.js';
export { parseDevice, parsePrecision } from './runtime/device.js';
export { providerAvailability } from './runtime/providers.js';
export type { ProviderAvailability } from './runtime/providers.js';
export type { DeviceRequest, PrecisionRequest, Provider, ProviderAttempt, ProviderChoice } from './runtime/device.js';
export { encodeTarget, encodeContext, decode, releaseEncoding } from './runtime/inference.js';
export type { Grid, GridPair, PairSource, TargetEncoding, ContextOptions, ContextProgress } from './runtime/inference.js';
export { RunningMean } from './apsp/running-mean.js';
export { partitionContext } from './apsp/mini-contexts.js';
export { chooseMiniContextSize, estimatePeakBytes, memoryModel } from './apsp/mini-context-size.js';
export { readCheckpoint } from './checkpoint/read-checkpoint.js';
export type { Checkpoint } from './checkpoint/read-checkpoint.js';
export { importCheckpoint } from './package/import-checkpoint.js';
export { InferenceEngine } from './inference-engine.js';
export type {
  PreparedTarget,
  ContextPairInput,
  LazyContextPair,
  StructureInput,
  RunOptions,
  RunResult,
  StructureResult,
  PhaseSeconds,
} from './inference-engine.js';
export { fitToGrid, toModelGrid, toNativeGrid, resample } from './processing/grid-fit.js';
export { foregroundBox } from './processing/foreground-box.js';
export type { VoxelBox } from './processing/foreground-box.js';
export type { GridFit } from './processing/grid-fit.js';
export { percentileNormalize, percentileNormalizer, quantiles, realValues, volumeQuantiles } from './processing/intensity.js';
export { quantizePackage, weightsFromGraphs } from './package/quantize-package.js';
