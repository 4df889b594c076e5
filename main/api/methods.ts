import type { ApiMethod, WorkstationApi } from './types.js';

/**
 * The method names a transport may call. A transport checks against this list, never against the
 * object's own properties, so nothing but the API can be reached through it.
 */
export const API_METHODS = [
  'appInfo',
  'openSample',
  'openWithDialog',
  'openFiles',
  'chooseSeries',
  'listVolumes',
  'volumeNifti',
  'closeVolume',
  'recentFiles',
  'openRecent',
  'cancelJob',
  'notifyFirstFrame',
  'listContextSets',
  'addLibraryPair',
  'removeLibraryPair',
  'restoreLibraryPair',
  'libraryTrash',
  'emptyLibraryTrash',
  'reorderLibraryPairs',
  'renameContextSet',
  'contextSetThumbnail',
  'checkLibraryPair',
  'listModels',
  'importModel',
  'suggestContextSet',
  'runTask',
  'updateLabelVolume',
  'addCorrectedPair',
  'exportAvailability',
  'exportMaskNifti',
  'exportSeg',
  'volumeStats',
  'runReport',
  'pacsConfig',
  'pacsSaveNode',
  'pacsRemoveNode',
  'pacsSetLocalAeTitle',
  'pacsEcho',
  'pacsFind',
  'pacsSend',
  'pacsRetrieve',
] as const satisfies readonly ApiMethod[];

/** Methods whose arguments carry file contents; every other call is a few kilobytes of JSON. */
export const UPLOAD_METHODS: ReadonlySet<string> = new Set<ApiMethod>(['openFiles', 'importModel', 'updateLabelVolume', 'addCorrectedPair']);

/** Largest request body a transport accepts for `method` (the browser host buffers it in memory). */
export function maxRequestBytes(method: string): number {
  return UPLOAD_METHODS.has(method) ? 2 * 2 ** 30 : 4 * 2 ** 20;
}

// Compile-time check that the list above names every method of the interface.
type Missing = Exclude<ApiMethod, (typeof API_METHODS)[number]>;
const _complete: Missing extends never ? true : Missing = true;
void _complete;

export function isApiMethod(name: string): name is ApiMethod {
  return (API_METHODS as readonly string[]).includes(name);
}

export async function dispatch(api: WorkstationApi, method: string, args: unknown[]): Promise<unknown> {
  if (!isApiMethod(method)) throw new Error(`unknown API method ${method}`);
  if (!Array.isArray(args)) throw new Error('API arguments must be an array');
  const fn = api[method] as (...a: unknown[]) => Promise<unknown>;
  return fn.apply(api, args);
}
