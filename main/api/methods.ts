import { InputError } from '../common/errors.js';
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
  'runWorklist',
  'updateLabelVolume',
  'addCorrectedPair',
  'exportAvailability',
  'exportMaskNifti',
  'exportSeg',
  'exportSr',
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

/**
 * The shape of every method's arguments, checked by `dispatch` before a handler runs, for both transports
 * (Electron IPC and the browser host): a page that was tampered with gets one clear error, not a handler
 * running on a number where it expects a string. Deep checks of request objects stay with the services.
 * A trailing "?" marks an optional argument.
 */
type Arg = 'string' | 'number' | 'object' | 'files' | 'file' | 'bytes' | 'numbers' | 'string?' | 'number?' | 'object?' | 'objects?';
export const API_ARGS: Record<ApiMethod, readonly Arg[]> = {
  appInfo: [],
  openSample: [],
  openWithDialog: ['object?'],
  openFiles: ['files', 'object?'],
  chooseSeries: ['string', 'string', 'object?'],
  listVolumes: [],
  volumeNifti: ['string'],
  closeVolume: ['string'],
  recentFiles: [],
  openRecent: ['string', 'object?'],
  cancelJob: ['string'],
  notifyFirstFrame: ['number'],
  listContextSets: [],
  addLibraryPair: ['object'],
  removeLibraryPair: ['number'],
  restoreLibraryPair: ['number'],
  libraryTrash: [],
  emptyLibraryTrash: [],
  reorderLibraryPairs: ['string', 'numbers'],
  renameContextSet: ['string', 'string'],
  contextSetThumbnail: ['string', 'number?'],
  checkLibraryPair: ['string', 'string'],
  listModels: [],
  importModel: ['file', 'object?'],
  suggestContextSet: ['string', 'string?'],
  runTask: ['object'],
  runWorklist: ['object'],
  updateLabelVolume: ['string', 'bytes', 'string?'],
  addCorrectedPair: ['string', 'string?'],
  exportAvailability: ['string'],
  exportMaskNifti: ['string', 'string'],
  // Segments are a list of {label, value}: an 'object' check refused every list, so the SEG export took only its default names.
  exportSeg: ['string', 'string', 'objects?'],
  exportSr: ['string', 'string', 'objects?'],
  volumeStats: ['string', 'object?'],
  runReport: ['string', 'string', 'object'],
  pacsConfig: [],
  pacsSaveNode: ['object', 'object?'],
  pacsRemoveNode: ['string'],
  pacsSetLocalAeTitle: ['string'],
  pacsEcho: ['string'],
  pacsFind: ['string', 'object'],
  pacsSend: ['string', 'string', 'object?'],
  pacsRetrieve: ['string', 'string', 'string?', 'object?'],
};

const isFile = (f: unknown) =>
  typeof f === 'object' && f !== null && typeof (f as { name?: unknown }).name === 'string' && (f as { data?: unknown }).data instanceof Uint8Array;

function argProblem(kind: Arg, v: unknown): string | null {
  const optional = kind.endsWith('?');
  if (v === undefined || (optional && v === null)) return optional ? null : 'is missing';
  switch (kind.replace('?', '')) {
    case 'string':
      return typeof v === 'string' && v.length <= 4096 ? null : 'must be a string (at most 4096 characters)';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) ? null : 'must be a finite number';
    case 'object':
      return typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) ? null : 'must be an object';
    case 'objects':
      return Array.isArray(v) && v.every((x) => typeof x === 'object' && x !== null && !Array.isArray(x)) ? null : 'must be a list of objects';
    case 'numbers':
      return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x)) ? null : 'must be a list of numbers';
    case 'bytes':
      return v instanceof Uint8Array ? null : 'must be bytes';
    case 'file':
      return isFile(v) ? null : 'must be a file ({name, data})';
    case 'files':
      return Array.isArray(v) && v.length > 0 && v.every(isFile) ? null : 'must be a non-empty list of files ({name, data})';
  }
  return 'has an unknown type';
}

/** Throws a usage InputError naming the method and argument when `args` do not fit `API_ARGS`. */
export function checkArgs(method: ApiMethod, args: unknown[]): void {
  const spec = API_ARGS[method];
  if (args.length > spec.length) throw new InputError(undefined, `${method} takes ${spec.length} argument(s), got ${args.length}`, 'usage');
  spec.forEach((kind, i) => {
    const problem = argProblem(kind, args[i]);
    if (problem) throw new InputError(undefined, `${method}: argument ${i + 1} ${problem}`, 'usage');
  });
}

export async function dispatch(api: WorkstationApi, method: string, args: unknown[]): Promise<unknown> {
  if (!isApiMethod(method)) throw new Error(`unknown API method ${method}`);
  if (!Array.isArray(args)) throw new Error('API arguments must be an array');
  checkArgs(method, args);
  const fn = api[method] as (...a: unknown[]) => Promise<unknown>;
  return fn.apply(api, args);
}
