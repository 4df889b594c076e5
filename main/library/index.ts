/** The context library: stored image/label pairs per scanner and task, bundles, and their CLI helpers. */
export { Library, DB_FILE, localUserName, type AddPairInput, type OpenOptions, type VolumeInput } from './library.js';
export { libraryDir } from './location.js';
export { resolveContextSet, type ResolvedContextSet, type StoredPairFiles } from './resolve.js';
export { contextIdentity } from './identity.js';
export { scannerMatch, type ScannerMatch } from './scanner-match.js';
export { exportBundle, buildManifest, type ExportOptions, type ExportSummary } from './bundle/export.js';
export { importBundle, type ImportOptions, type ImportPhase, type ImportSummary } from './bundle/import.js';
export { DEFAULT_ZIP_LIMITS, type ZipLimits } from './zip.js';
export { gridMismatch, GRID_TOLERANCE_MM } from '../imaging/grid.js';
export { LATEST_VERSION, MIGRATIONS } from './migrations.js';
export { openDatabase, schemaVersion } from './db.js';
export * from './types.js';
export { LibraryService, libraryDirFor } from './library-service.js';
export { midSliceThumbnail } from './thumbnail.js';
export {
  ensureStarterSet,
  readStarterManifest,
  starterDir,
  starterSetName,
  starterSource,
  STARTER_AUDIT_ACTION,
  type StarterInstall,
  type StarterManifest,
} from './starter.js';
