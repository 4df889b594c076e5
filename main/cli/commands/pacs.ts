import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../../common/errors.js';
import { checkAeTitle, checkNode, echo, find, get, PacsNodes, store, type DicomNode, type Peer } from '../../pacs/index.js';
import { defaultDataDir } from '../../settings/paths.js';
import { flag, hasFlag, parseArgs, type ParsedArgs } from '../args.js';
import type { CliCommand, CliIo } from '../command.js';

const NODE_FLAGS = ['node', 'ae', 'host', 'port', 'calling-ae'];

export const pacsCommand: CliCommand = {
  name: 'pacs',
  summary: 'DICOM nodes: configure, C-ECHO, send (C-STORE), find (C-FIND), get (C-GET)',
  usage: `usage: neuroverse pacs <sub-command> [options]

  nodes list                                   the configured nodes and our AE title
  nodes add NAME --ae AE --host HOST --port N  add or replace a node
  nodes remove NAME
  nodes local-ae AE                            our (calling) AE title, NEUROVERSE by default
  echo                                         C-ECHO: is the node reachable and does it accept us?
  send FILE|FOLDER ...                         C-STORE the DICOM files (a series, a SEG)
  find [--level study|series] [--study UID] [--patient-id ID] [--patient-name PAT] [--modality M] [--json]
  get --study UID [--series UID] --out DIR     C-GET a study or series into DIR

  The node of echo/send/find/get: --node NAME (configured), or --ae AE --host HOST --port N.
  --calling-ae AE overrides our AE title for one command. Nodes are kept in pacs-nodes.json in the
  data folder (NEUROVERSE_DATA_DIR overrides it).`,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    const nodes = new PacsNodes(defaultDataDir());
    switch (sub) {
      case 'nodes':
        return nodesCommand(nodes, rest, io);
      case 'echo': {
        const args = parseArgs(rest, { value: NODE_FLAGS });
        const peer = await peerFrom(nodes, args);
        await echo(peer);
        io.out(`C-ECHO ${peer.node.aeTitle}@${peer.node.host}:${peer.node.port}: success`);
        return 0;
      }
      case 'send': {
        const args = parseArgs(rest, { value: NODE_FLAGS });
        if (!args.positional.length) throw new InputError(undefined, 'give the DICOM files or folders to send', 'usage');
        const peer = await peerFrom(nodes, args);
        const files = (await Promise.all(args.positional.map(listFiles))).flat();
        const r = await store(peer, files);
        io.out(`C-STORE to ${peer.node.aeTitle}: ${r.sent} of ${files.length} instances stored`);
        for (const f of r.failed) io.err(`  ${f.file}: ${f.problem}`);
        return r.failed.length ? 1 : 0;
      }
      case 'find': {
        const args = parseArgs(rest, { value: [...NODE_FLAGS, 'level', 'study', 'patient-id', 'patient-name', 'modality'], boolean: ['json'] });
        const level = (flag(args, 'level') ?? (flag(args, 'study') ? 'series' : 'study')).toUpperCase();
        if (level !== 'STUDY' && level !== 'SERIES') throw new InputError(undefined, '--level must be study or series', 'usage');
        const peer = await peerFrom(nodes, args);
        const matches = await find(peer, {
          level,
          studyInstanceUid: flag(args, 'study'),
          patientId: flag(args, 'patient-id'),
          patientName: flag(args, 'patient-name'),
          modality: flag(args, 'modality'),
        });
        if (hasFlag(args, 'json')) io.out(JSON.stringify(matches, null, 2));
        else if (level === 'STUDY')
          for (const m of matches)
            io.out(`${m.StudyInstanceUID}  ${m.StudyDate ?? ''}  ${m.PatientID ?? ''}  "${m.StudyDescription ?? ''}"  ${m.ModalitiesInStudy ?? ''}`);
        else
          for (const m of matches)
            io.out(
              `${m.SeriesInstanceUID}  #${m.SeriesNumber ?? ''}  ${m.Modality ?? ''}  "${m.SeriesDescription ?? ''}"  ${m.NumberOfSeriesRelatedInstances ?? ''} instances`,
            );
        if (!hasFlag(args, 'json')) io.err(`${matches.length} match${matches.length === 1 ? '' : 'es'}`);
        return 0;
      }
      case 'get': {
        const args = parseArgs(rest, { value: [...NODE_FLAGS, 'study', 'series', 'out'] });
        const study = flag(args, 'study');
        const out = flag(args, 'out');
        if (!study || !out) throw new InputError(undefined, 'get needs --study UID and --out DIR', 'usage');
        const peer = await peerFrom(nodes, args);
        const r = await get(peer, { studyInstanceUid: study, seriesInstanceUid: flag(args, 'series') }, out);
        io.out(`C-GET from ${peer.node.aeTitle}: ${r.files.length} instances written to ${out}${r.failed ? ` (${r.failed} failed)` : ''}`);
        return r.failed ? 1 : 0;
      }
      default:
        throw new InputError(undefined, sub ? `unknown pacs sub-command "${sub}"` : 'missing pacs sub-command', 'usage');
    }
  },
};

async function nodesCommand(nodes: PacsNodes, argv: string[], io: CliIo): Promise<number> {
  const [action, ...rest] = argv;
  const args = parseArgs(rest, { value: ['ae', 'host', 'port'] });
  if (action === 'list' || action === undefined) {
    const c = await nodes.load();
    io.out(`our AE title: ${c.localAeTitle}`);
    for (const n of c.nodes) io.out(`${n.name}: ${n.aeTitle}@${n.host}:${n.port}`);
    if (!c.nodes.length) io.out('no nodes configured (neuroverse pacs nodes add NAME --ae AE --host HOST --port N)');
    return 0;
  }
  if (action === 'add') {
    const node = checkNode({ name: args.positional[0], aeTitle: flag(args, 'ae'), host: flag(args, 'host'), port: Number(flag(args, 'port')) });
    await nodes.put(node, { confirmRemote: true }); // typing the host on the command line is the confirmation
    io.out(`node ${node.name}: ${node.aeTitle}@${node.host}:${node.port} saved in ${nodes.file}`);
    return 0;
  }
  if (action === 'remove') {
    if (!args.positional[0]) throw new InputError(undefined, 'nodes remove needs a NAME', 'usage');
    await nodes.remove(args.positional[0]);
    io.out(`node ${args.positional[0]} removed`);
    return 0;
  }
  if (action === 'local-ae') {
    const c = await nodes.load();
    c.localAeTitle = checkAeTitle(args.positional[0] ?? '', 'local AE title');
    await nodes.save(c);
    io.out(`our AE title: ${c.localAeTitle}`);
    return 0;
  }
  throw new InputError(undefined, `unknown nodes action "${action}" (list, add, remove, local-ae)`, 'usage');
}

async function peerFrom(nodes: PacsNodes, args: ParsedArgs): Promise<Peer> {
  const config = await nodes.load();
  const name = flag(args, 'node');
  let node: DicomNode;
  if (name) node = await nodes.get(name);
  else if (flag(args, 'ae') || flag(args, 'host') || flag(args, 'port')) {
    node = checkNode({ name: 'command-line', aeTitle: flag(args, 'ae'), host: flag(args, 'host'), port: Number(flag(args, 'port')) });
  } else if (config.nodes.length === 1) node = config.nodes[0];
  else
    throw new InputError(
      undefined,
      config.nodes.length ? 'several nodes configured: pick one with --node NAME' : 'no node: give --node NAME or --ae AE --host HOST --port N',
      'usage',
    );
  const calling = flag(args, 'calling-ae');
  return { node, localAeTitle: calling ? checkAeTitle(calling, 'calling AE title') : config.localAeTitle };
}

async function listFiles(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new InputError(path, 'no such file or folder');
  }
  if (!info.isDirectory()) return [path];
  const out: string[] = [];
  for (const e of (await readdir(path, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith('.')) continue;
    const p = join(path, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}
