import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { InputError } from '../common/errors.js';
import type { FileBlob, UploadedFile } from '../common/file-blob.js';

/** An upload the page has not used in this long is removed: it was dropped by a page that went away. */
const UNUSED_UPLOAD_MS = 15 * 60_000;

export type UploadOutcome = { ok: true; upload: string; size: number } | { ok: false; reason: 'too-large' | 'aborted' };

/**
 * Files the browser host's page sends before a call that needs them (openFiles, importModel): each body is written
 * to a temporary file in the data folder as it arrives, counted against the same bound as a call's body, and
 * removed on any failure, once it has been used, when unused for a while, and when the host closes. The page then
 * names the upload in its call ({name, upload}); `resolve` reads it back for the service.
 */
export class Uploads {
  private readonly held = new Map<string, { path: string; size: number; timer: NodeJS.Timeout }>();

  constructor(
    private readonly dir: string,
    readonly maxBytes: number,
  ) {}

  /** Streams `req`'s body to disk. A body over `maxBytes` stops being read at that point (the caller answers 413). */
  async receive(req: IncomingMessage): Promise<UploadOutcome> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const id = randomUUID();
    const path = join(this.dir, `${id}.part`);
    const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    let size = 0;
    const outcome = await new Promise<'ok' | 'too-large' | 'aborted'>((ok) => {
      let settled = false;
      const settle = (r: 'ok' | 'too-large' | 'aborted') => {
        if (settled) return;
        settled = true;
        req.removeListener('data', onData);
        ok(r);
      };
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > this.maxBytes) {
          req.pause();
          return settle('too-large');
        }
        // Backpressure: a fast client waits for the disk instead of filling this process's memory.
        if (!out.write(chunk)) {
          req.pause();
          out.once('drain', () => req.resume());
        }
      };
      req.on('data', onData);
      req.once('end', () => out.end(() => settle('ok')));
      req.once('close', () => {
        if (!req.complete) settle('aborted');
      });
      req.once('error', () => settle('aborted'));
      out.once('error', () => settle('aborted'));
    });
    if (outcome !== 'ok') {
      out.destroy();
      await rm(path, { force: true });
      return { ok: false, reason: outcome };
    }
    const timer = setTimeout(() => void this.release([id]), UNUSED_UPLOAD_MS);
    timer.unref();
    this.held.set(id, { path, size, timer });
    return { ok: true, upload: id, size };
  }

  /**
   * A call's arguments with every {name, upload} (as an argument or in a list argument) replaced by the file's
   * bytes, read from its temporary file; the total is bounded like a call's body. `ids` are the uploads used.
   */
  async resolve(args: unknown[]): Promise<{ args: unknown[]; ids: string[] }> {
    const ids: string[] = [];
    let total = 0;
    const swap = async (v: unknown): Promise<unknown> => {
      if (!isUploadedFile(v)) return v;
      const held = this.held.get(v.upload);
      if (!held) throw new InputError(v.name, 'the upload of this file is unknown or has expired; send it again');
      total += held.size;
      if (total > this.maxBytes)
        throw new InputError(v.name, `the files of one request come to more than the ${this.maxBytes} bytes it may carry`, 'too-large');
      ids.push(v.upload);
      return { name: v.name, data: new Uint8Array(await readFile(held.path)) } satisfies FileBlob;
    };
    const out: unknown[] = [];
    for (const a of args) out.push(Array.isArray(a) ? await Promise.all(a.map(swap)) : await swap(a));
    return { args: out, ids };
  }

  async release(ids: Iterable<string>): Promise<void> {
    for (const id of ids) {
      const held = this.held.get(id);
      if (!held) continue;
      this.held.delete(id);
      clearTimeout(held.timer);
      await rm(held.path, { force: true });
    }
  }

  close(): Promise<void> {
    return this.release([...this.held.keys()]);
  }
}

function isUploadedFile(v: unknown): v is UploadedFile {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  const f = v as { name?: unknown; upload?: unknown };
  return keys.length === 2 && typeof f.name === 'string' && typeof f.upload === 'string';
}
