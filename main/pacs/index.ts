/** PACS exchange over DIMSE (dcmjs-dimse): node configuration, C-ECHO, C-STORE, C-FIND, C-GET. */
export { PacsNodes, checkNode, checkAeTitle, DEFAULT_LOCAL_AE } from './nodes.js';
export type { DicomNode, PacsConfig } from './nodes.js';
export { echo, store, find, get } from './dimse.js';
export type { Peer, StoreInput, StoreResult, FindQuery, FindMatch, GetResult } from './dimse.js';
