import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InputError } from '../common/errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';

import type { DicomNode, PacsConfig } from './types.js';

export type { DicomNode, PacsConfig } from './types.js';

export const DEFAULT_LOCAL_AE = 'NEUROVERSE';

/** AE titles: 1–16 characters of the default character repertoire, no backslash or control characters. */
export function checkAeTitle(ae: string, what = 'AE title'): string {
  const t = ae.trim();
  if (!t || t.length > 16 || /[\\\x00-\x1f]/.test(t))
    throw new InputError(undefined, `${what} "${ae}" must be 1–16 printable characters without "\\"`, 'usage');
  return t;
}

export function checkNode(n: Partial<DicomNode>): DicomNode {
  const name = (n.name ?? '').trim();
  if (!/^[\w.-]{1,64}$/.test(name)) throw new InputError(undefined, `node name "${n.name ?? ''}" must be 1–64 letters, digits, "-", "_" or "."`, 'usage');
  const host = (n.host ?? '').trim();
  if (!host) throw new InputError(undefined, `node ${name}: host is missing`, 'usage');
  if (!isHostName(host)) throw new InputError(undefined, `node ${name}: host "${host.slice(0, 80)}" is not a host name or IP address`, 'usage');
  const port = Number(n.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InputError(undefined, `node ${name}: port must be 1–65535 (got ${n.port})`, 'usage');
  return { name, aeTitle: checkAeTitle(n.aeTitle ?? '', `node ${name}: AE title`), host, port };
}

/** The DICOM nodes the user configured, kept as JSON in the app's data folder. */
export class PacsNodes {
  readonly file: string;

  constructor(dataDir: string) {
    this.file = join(dataDir, 'pacs-nodes.json');
  }

  async load(): Promise<PacsConfig> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { localAeTitle: DEFAULT_LOCAL_AE, nodes: [] };
      throw new InputError(this.file, `cannot be read (${(err as Error).message})`);
    }
    try {
      const j = JSON.parse(text) as Partial<PacsConfig>;
      return { localAeTitle: checkAeTitle(j.localAeTitle ?? DEFAULT_LOCAL_AE, 'local AE title'), nodes: (j.nodes ?? []).map(checkNode) };
    } catch (err) {
      throw new InputError(this.file, `is not a valid node list (${(err as Error).message}); fix or delete it`);
    }
  }

  async save(config: PacsConfig): Promise<void> {
    const clean = { localAeTitle: checkAeTitle(config.localAeTitle, 'local AE title'), nodes: config.nodes.map(checkNode) };
    await mkdir(dirname(this.file), { recursive: true });
    await writeFileAtomic(this.file, new TextEncoder().encode(JSON.stringify(clean, null, 2) + '\n'), { overwrite: true });
  }

  /**
   * Adds or replaces the node with this name. A host other than this computer receives patients' scans when
   * the user sends, so saving one needs `confirmRemote` (the app asks the user; typing the CLI command is the
   * confirmation there).
   */
  async put(node: DicomNode, options: { confirmRemote?: boolean } = {}): Promise<PacsConfig> {
    const c = await this.load();
    const n = checkNode(node);
    if (!isLoopback(n.host) && !options.confirmRemote) {
      throw new InputError(
        undefined,
        `node ${n.name}: ${n.host} is another computer; scans sent there leave this machine. Confirm to save it`,
        'confirm-remote',
      );
    }
    c.nodes = [...c.nodes.filter((x) => x.name !== n.name), n];
    await this.save(c);
    return c;
  }

  async remove(name: string): Promise<PacsConfig> {
    const c = await this.load();
    if (!c.nodes.some((n) => n.name === name)) throw new InputError(undefined, `no DICOM node named "${name}"`);
    c.nodes = c.nodes.filter((n) => n.name !== name);
    await this.save(c);
    return c;
  }

  async get(name: string): Promise<DicomNode> {
    const c = await this.load();
    const n = c.nodes.find((x) => x.name === name);
    if (!n) throw new InputError(undefined, `no DICOM node named "${name}" (configured: ${c.nodes.map((x) => x.name).join(', ') || 'none'})`);
    return n;
  }
}

/** An IPv4 or IPv6 literal or an RFC 1123 host name: nothing that could smuggle a URL, path or option. */
export function isHostName(host: string): boolean {
  if (host.length > 253) return false;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return host.split('.').every((p) => Number(p) <= 255);
  if (/^\[?[0-9a-fA-F:]+(%\w+)?\]?$/.test(host) && host.includes(':')) return true;
  return host.split('.').every((label) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label));
}

/** This computer: localhost, 127.0.0.0/8 or ::1. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}
