import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import dcmjs from 'dcmjs';
import dimse from 'dcmjs-dimse';
import { InputError } from '../common/errors.js';
import { inflate } from '../imaging/dicom/files.js';
import { isDicomUid } from '../imaging/dicom/uid.js';
import { datasetOffset, part10 } from './part10.js';
import type { DicomNode, FindMatch, FindQuery, StoreResult } from './types.js';

export type { FindLevel, FindMatch, FindQuery, StoreResult } from './types.js';

const { Client, Dataset } = dimse;
// dcmjs-dimse logs every network failure itself; we report them once, as InputErrors naming the node.
dimse.log.setLevel('silent');
const { CEchoRequest, CFindRequest, CGetRequest, CStoreRequest } = dimse.requests;
const { CStoreResponse } = dimse.responses;
const { Status, TransferSyntax, PresentationContextResult } = dimse.constants;
const { PresentationContext } = dimse.association;

/**
 * dcmjs-dimse hands a received C-STORE over as a naturalized dataset only, and dcmjs loses private
 * attributes' VRs there (writing it back drops them). Its Dataset decodes received bytes in
 * `_fromElementsBuffer` (dcmjs-dimse 0.3.3, pinned); keeping those bytes lets a retrieved instance be
 * stored exactly as the PACS sent it. If a later version renames the method, retrieval falls back to
 * re-encoding (and loses private attributes) rather than failing.
 */
const RAW = Symbol('received dataset bytes');
const datasetProto = Dataset.prototype as unknown as { _fromElementsBuffer?: (b: Buffer, ts: string, o: unknown) => unknown; [RAW]?: Buffer };
const decode = datasetProto._fromElementsBuffer;
if (typeof decode === 'function') {
  datasetProto._fromElementsBuffer = function (this: { [RAW]?: Buffer }, b: Buffer, ts: string, o: unknown) {
    this[RAW] = b;
    return decode.call(this, b, ts, o);
  };
}

type DimseRequest =
  InstanceType<typeof CEchoRequest> | InstanceType<typeof CFindRequest> | InstanceType<typeof CGetRequest> | InstanceType<typeof CStoreRequest>;
type DimseDataset = InstanceType<typeof Dataset>;

/** Segmentation Storage is not among dcmjs-dimse's default storage classes: without it a C-GET of a SEG fails (0xC000). */
const EXTRA_STORAGE_CLASSES = ['1.2.840.10008.5.1.4.1.1.66.4'];

export interface Peer {
  node: DicomNode;
  /** Our calling AE title. */
  localAeTitle: string;
}

const TIMEOUTS = { connectTimeout: 10_000, associationTimeout: 30_000, pduTimeout: 120_000 };

function where(p: Peer): string {
  return `DICOM node ${p.node.name} (${p.node.aeTitle}@${p.node.host}:${p.node.port})`;
}

const REJECT_REASONS: Record<number, string> = {
  1: 'no reason given',
  2: 'application context not supported',
  3: `our AE title is not recognised by the node (add it to the PACS's known modalities)`,
  7: "the called AE title is not recognised (check the node's AE title)",
};

/**
 * One association carrying `requests`; resolves when it is released and closed. Network failures and
 * a rejected association become one-line InputErrors naming the node, so the CLI and the UI say why.
 */
function associate(
  peer: Peer,
  requests: DimseRequest[],
  setup?: (client: InstanceType<typeof Client>) => void,
  datasetNameMap?: Record<string, unknown>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let failed: Error | undefined;
    const fail = (e: Error) => {
      if (!failed) failed = e;
    };
    client.on('networkError', (e: Error & { code?: string }) => {
      fail(new InputError(where(peer), `unreachable: ${networkProblem(e)}`, 'pacs-unreachable'));
    });
    client.on('associationRejected', (r: { result: number; source: number; reason: number }) => {
      const why = REJECT_REASONS[r.reason] ?? `reason ${r.reason}`;
      fail(new InputError(where(peer), `association rejected: ${why} (calling AE ${peer.localAeTitle})`, 'pacs-rejected'));
    });
    client.on('abort' as never, () => fail(new InputError(where(peer), 'the node aborted the association', 'pacs-aborted')));
    client.on('closed', () => (failed ? reject(failed) : resolve()));
    for (const r of requests) client.addRequest(r);
    setup?.(client);
    try {
      client.send(peer.node.host, peer.node.port, peer.localAeTitle, peer.node.aeTitle, { ...TIMEOUTS, ...(datasetNameMap ? { datasetNameMap } : {}) });
    } catch (err) {
      reject(new InputError(where(peer), (err as Error).message, 'pacs-unreachable'));
    }
  });
}

function networkProblem(e: Error & { code?: string }): string {
  const text = `${e.code ?? ''} ${e.message}`;
  if (/ECONNREFUSED/.test(text)) return 'connection refused (ECONNREFUSED: is the PACS running, and is the port right?)';
  if (/ENOTFOUND|EAI_AGAIN/.test(text)) return 'host name not found';
  if (/EHOSTUNREACH|ENETUNREACH/.test(text)) return 'no route to the host';
  if (/ETIMEDOUT|timeout/i.test(text)) return 'no answer (timed out)';
  if (/ECONNRESET|EPIPE/.test(text)) return 'the connection was closed by the node';
  return e.message.replace(/^[\s->]+/, '').replace(/\s+/g, ' ');
}

function statusProblem(status: number, comment?: string): string {
  return `status 0x${status.toString(16).padStart(4, '0')}${comment ? ` (${comment})` : ''}`;
}

/** C-ECHO: whether the node answers and accepts us. */
export async function echo(peer: Peer): Promise<void> {
  const req = new CEchoRequest();
  let status: number | undefined;
  req.on('response', (r) => (status = r.getStatus()));
  await associate(peer, [req]);
  if (status !== Status.Success) throw new InputError(where(peer), `C-ECHO failed: ${status === undefined ? 'no response' : statusProblem(status)}`);
}

/** A file to send: a path, or bytes made in the app (a SEG not yet saved). */
export type StoreInput = string | { name: string; data: Uint8Array };

/** C-STORE of DICOM files (plain or .dcm.gz) in one association. */
export async function store(peer: Peer, inputs: StoreInput[]): Promise<StoreResult> {
  const files = inputs.map((f) => (typeof f === 'string' ? f : f.name));
  if (!files.length) throw new InputError(undefined, 'nothing to send: no DICOM files given');
  const result: StoreResult = { sent: 0, failed: [] };
  const requests: DimseRequest[] = [];
  const privateNames: Record<string, unknown> = {};
  for (const [n, input] of inputs.entries()) {
    const file = files[n];
    const ds = await readDataset(input, privateNames);
    const req = new CStoreRequest(ds);
    req.on('response', (r) => {
      const s = r.getStatus();
      // Warnings (0xB000–0xB007: coercion, elements discarded) still mean stored.
      if (s === Status.Success || (s >= 0xb000 && s <= 0xb0ff)) result.sent++;
      else result.failed.push({ file, problem: statusProblem(s, r.getErrorComment?.()) });
    });
    requests.push(req);
  }
  await associate(peer, requests, undefined, privateNames);
  const answered = result.sent + result.failed.length;
  if (answered < files.length) {
    for (const f of files.slice(answered)) result.failed.push({ file: f, problem: 'no response (no accepted presentation context for its SOP class?)' });
  }
  return result;
}

/**
 * dcmjs names attributes missing from its dictionary (private ones) by their hex tag, forgets their VR,
 * and drops, when writing, any name it has no dictionary entry for: without these entries a C-STORE
 * would silently strip private data such as Philips' scale slope (2005,100E). Each such tag gets an
 * entry with the VR it was read with (from the raw, not yet naturalized, element).
 */
function collectPrivateNames(raw: Record<string, unknown>, into: Record<string, unknown>): void {
  const dictionary = (dcmjs.data.DicomMetaDictionary as unknown as { dictionary: Record<string, unknown> }).dictionary;
  for (const [tag, element] of Object.entries(raw)) {
    const el = element as { vr?: string; Value?: unknown[] };
    const punctuated = `(${tag.slice(0, 4).toUpperCase()},${tag.slice(4).toUpperCase()})`;
    if (!dictionary[punctuated] && !(tag in into)) into[tag] = { tag: punctuated, vr: el.vr ?? 'UN', name: tag, vm: '1-n', version: 'PrivateTag' };
    if (el.vr === 'SQ') for (const item of el.Value ?? []) if (item && typeof item === 'object') collectPrivateNames(item as Record<string, unknown>, into);
  }
}

async function readDataset(input: StoreInput, privateNames: Record<string, unknown>): Promise<DimseDataset> {
  const file = typeof input === 'string' ? input : input.name;
  let raw: Uint8Array;
  try {
    raw = typeof input === 'string' ? await readFile(input) : input.data;
  } catch (err) {
    throw new InputError(file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const f = await inflate({ name: basename(file), path: file, data: raw });
  try {
    const dict = dcmjs.data.DicomMessage.readFile(f.data.buffer.slice(f.data.byteOffset, f.data.byteOffset + f.data.byteLength) as ArrayBuffer);
    collectPrivateNames(dict.dict, privateNames);
    const elements = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
    const ts = (dict.meta['00020010'] as { Value?: string[] } | undefined)?.Value?.[0] ?? TransferSyntax.ExplicitVRLittleEndian;
    const ds = new Dataset(elements, ts);
    // Send the file's own dataset bytes when the PACS accepts its transfer syntax (dcmjs-dimse only calls
    // this then; otherwise it transcodes a copy): re-encoding would rewrite DS values and damage invalid
    // ones (GE's private "Coil ID Data"). Deflated files are left to the library.
    const offset = datasetOffset(f.data);
    if (offset !== null && ts !== '1.2.840.10008.1.2.1.99') {
      const body = Buffer.from(f.data.buffer, f.data.byteOffset + offset, f.data.byteLength - offset);
      (ds as unknown as { getDenaturalizedDataset: () => Buffer }).getDenaturalizedDataset = () => body;
    }
    return ds;
  } catch (err) {
    throw new InputError(file, `not a DICOM file (${(err as Error).message})`);
  }
}

/** C-FIND (Study Root): the returned keys are those a study/series browser shows. */
export async function find(peer: Peer, q: FindQuery): Promise<FindMatch[]> {
  let req;
  if (q.level === 'STUDY') {
    req = CFindRequest.createStudyFindRequest({
      PatientID: q.patientId ?? '',
      PatientName: q.patientName ?? '',
      StudyInstanceUID: q.studyInstanceUid ?? '',
      AccessionNumber: q.accessionNumber ?? '',
      StudyDate: q.studyDate ?? '',
      StudyDescription: '',
      ModalitiesInStudy: q.modality ?? '',
      NumberOfStudyRelatedSeries: '',
      NumberOfStudyRelatedInstances: '',
    });
  } else {
    if (!q.studyInstanceUid) throw new InputError(undefined, 'a series query needs the study (--study UID)', 'usage');
    req = CFindRequest.createSeriesFindRequest({
      StudyInstanceUID: q.studyInstanceUid,
      SeriesInstanceUID: '',
      Modality: q.modality ?? '',
      SeriesNumber: '',
      SeriesDescription: '',
      NumberOfSeriesRelatedInstances: '',
    });
  }
  const matches: FindMatch[] = [];
  let final: { status: number; comment?: string } | undefined;
  req.on('response', (r) => {
    const s = r.getStatus();
    if ((s === Status.Pending || s === 0xff01) && r.hasDataset()) matches.push(plain(r.getDataset()!.getElements()));
    else if (s !== Status.Pending) final = { status: s, comment: r.getErrorComment?.() };
  });
  await associate(peer, [req]);
  if (!final || final.status !== Status.Success)
    throw new InputError(where(peer), `C-FIND failed: ${final ? statusProblem(final.status, final.comment) : 'no response'}`);
  return matches;
}

function plain(el: Record<string, unknown>): FindMatch {
  const out: FindMatch = {};
  for (const [k, v] of Object.entries(el)) {
    if (k.startsWith('_')) continue;
    const x = Array.isArray(v) ? v[0] : v;
    if (x && typeof x === 'object' && 'Alphabetic' in (x as object)) out[k] = String((x as { Alphabetic: string }).Alphabetic);
    else if (typeof x === 'string' || typeof x === 'number') out[k] = x;
    else if (x === undefined || x === null) out[k] = '';
  }
  return out;
}

export interface GetResult {
  files: string[];
  failed: number;
}

/**
 * C-GET of a study (or one series) into `outDir`: each instance arrives as a C-STORE on our association
 * and is written through a temporary name then renamed, so a broken transfer leaves no partial file.
 */
export async function get(peer: Peer, q: { studyInstanceUid: string; seriesInstanceUid?: string }, outDir: string): Promise<GetResult> {
  await mkdir(outDir, { recursive: true });
  const req = q.seriesInstanceUid
    ? CGetRequest.createSeriesGetRequest(q.studyInstanceUid, q.seriesInstanceUid)
    : CGetRequest.createStudyGetRequest(q.studyInstanceUid);
  req.setAddStorageSopClassesToAssociation(true);
  const files: string[] = [];
  const pendingWrites: Promise<void>[] = [];
  let final: { status: number; failed: number; comment?: string } | undefined;
  req.on('response', (r) => {
    const s = r.getStatus();
    if (s !== Status.Pending) final = { status: s, failed: (r as unknown as { getFailures(): number }).getFailures?.() ?? 0, comment: r.getErrorComment?.() };
  });
  await associate(peer, [req], (client) => {
    for (const uid of EXTRA_STORAGE_CLASSES) {
      // SCP role for storage sub-operations: the node sends these instances to us.
      const pc = new PresentationContext(0, uid, TransferSyntax.ExplicitVRLittleEndian, PresentationContextResult.Proposed, false, true);
      pc.addTransferSyntaxUid(TransferSyntax.ImplicitVRLittleEndian);
      client.addAdditionalPresentationContext(pc, true);
    }
    client.on('cStoreRequest', (request: InstanceType<typeof CStoreRequest>, callback: (r: unknown) => void) => {
      const response = CStoreResponse.fromRequest(request);
      const ds = request.getDataset();
      const uid = ds?.getElement('SOPInstanceUID');
      if (!ds || !isDicomUid(uid)) {
        response.setStatus(0xa900); // dataset does not match SOP class
        callback(response);
        return;
      }
      const path = join(outDir, `${uid}.dcm`);
      const write = writeDatasetAtomic(ds, path).then(
        () => {
          files.push(path);
          response.setStatus(Status.Success);
          callback(response);
        },
        () => {
          response.setStatus(0xa700); // out of resources (could not write)
          callback(response);
        },
      );
      pendingWrites.push(write);
    });
  });
  await Promise.all(pendingWrites);
  if (!final) throw new InputError(where(peer), 'C-GET failed: no final response');
  const ok = final.status === Status.Success || (final.status >= 0xb000 && final.status <= 0xb0ff);
  if (!ok)
    throw new InputError(where(peer), `C-GET failed: ${statusProblem(final.status, final.comment)}${files.length ? ` after ${files.length} instances` : ''}`);
  if (!files.length) throw new InputError(where(peer), `C-GET returned no instances for study ${q.studyInstanceUid}`);
  return { files: files.sort(), failed: final.failed };
}

function writeDatasetAtomic(ds: DimseDataset, path: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.partial`);
  const raw = (ds as unknown as { [RAW]?: Buffer })[RAW];
  const written = raw
    ? writeFile(
        tmp,
        part10(raw, {
          sopClassUid: ds.getElement('SOPClassUID') ?? '',
          sopInstanceUid: ds.getElement('SOPInstanceUID') ?? '',
          transferSyntaxUid: ds.getTransferSyntaxUid(),
        }),
        { flag: 'wx' },
      )
    : new Promise<void>((resolve, reject) => ds.toFile(tmp, (err) => (err ? reject(err) : resolve())));
  return written.then(
    () => rename(tmp, path),
    async (err) => {
      await rm(tmp, { force: true });
      throw err;
    },
  );
}
