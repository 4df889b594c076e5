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
  if (!t || t.length > 16 || /[\\\x00-\x1f]/.test(t)) throw new InputError(undefined, `${what} "${ae}" must be 1–16 printable characters without "\\"`, 'usage');
  return t;
}

export function checkNode(n: Partial<DicomNode>): DicomNode {
  const name = (n.name ?? '').trim();
  if (!/^[\w.-]{1,64}$/.test(name)) throw new InputError(undefined, `node name "${n.name ?? ''}" must be 1–64 letters, digits, "-", "_" or "."`, 'usage');
  const host = (n.host ?? '').trim();
  if (!host || /\s/.test(host)) throw new InputError(undefined, `node ${name}: host is missing`, 'usage');
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

  /** Adds or replaces the node with this name. */
  async put(node: DicomNode): Promise<PacsConfig> {
    const c = await this.load();
    const n = checkNode(node);
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
