import { readFile } from 'node:fs/promises';
import { InputError } from '../../common/errors.js';
import type { SegProvenance } from '../../export/types.js';
import { exportSeg, type SegmentSpec } from '../../export/seg/index.js';
import { volumeStats, writeStatsCsv } from '../../export/stats.js';
import { readNifti } from '../../imaging/index.js';
import { flag, flagAll, hasFlag, parseArgs } from '../args.js';
import type { CliCommand } from '../command.js';

export const exportSegCommand: CliCommand = {
  name: 'export-seg',
  summary: 'write a label mask as a binary DICOM-SEG on its DICOM reference series',
  usage: `usage: neuroverse export-seg --mask <m.nii[.gz]> --reference <dicom-folder> --out <seg.dcm>
                           [--segment NAME=VALUE ...] [--series UID] [--provenance <run.json> | --manual]
                           [--stats <file.csv>] [--force]

  --mask FILE        label mask on the reference series' grid (e.g. from "neuroverse run" or "convert")
  --reference DIR    folder with the source DICOM series the mask was made on
  --out FILE         DICOM-SEG file to write (never overwritten without --force)
  --segment N=V      one segment named N for mask value V (repeat); the name picks the SNOMED CT code
                     (e.g. Left-Hippocampus=17); default: one "Label V" segment per non-zero value
  --series UID       the reference series when the folder holds several
  --provenance FILE  the "neuroverse run --json" output of the run that made the mask: the SEG records its
                     model or method, alignment and context set (Segment Algorithm Name, Algorithm
                     Identification, Contributing Equipment); default: AUTOMATIC by "Neuroverse3D"
  --manual           segments were drawn by hand (SegmentAlgorithmType MANUAL, not AUTOMATIC)
  --stats FILE       also write the voxel count and volume (mL) of each segment as CSV
  --force            replace existing output files`,
  async run(argv, io) {
    const args = parseArgs(argv, { value: ['mask', 'reference', 'out', 'segment', 'series', 'stats', 'provenance'], boolean: ['force', 'manual'] });
    if (args.positional.length) throw new InputError(undefined, `unexpected argument ${args.positional[0]}`, 'usage');
    const maskPath = flag(args, 'mask');
    const reference = flag(args, 'reference');
    const out = flag(args, 'out');
    if (!maskPath || !reference || !out) throw new InputError(undefined, '--mask, --reference and --out are required', 'usage');
    const segments = flagAll(args, 'segment').map(parseSegment);
    const provenanceFile = flag(args, 'provenance');
    if (provenanceFile && hasFlag(args, 'manual')) throw new InputError(undefined, 'give --provenance or --manual, not both', 'usage');
    const provenance: SegProvenance = hasFlag(args, 'manual')
      ? { type: 'MANUAL' }
      : provenanceFile
        ? await readRunProvenance(provenanceFile)
        : { type: 'AUTOMATIC', algorithmName: 'Neuroverse3D' };
    const mask = await readNifti(maskPath);
    const overwrite = hasFlag(args, 'force');
    const result = await exportSeg(mask, maskPath, reference, out, {
      segments,
      seriesUid: flag(args, 'series'),
      overwrite,
      provenance,
    });
    io.out(
      `${out}: DICOM-SEG, ${result.frames} frames on series ${result.referenceSeriesUid}, ${provenance.type}${provenance.algorithmName ? ` by ${provenance.algorithmName}` : ''}`,
    );
    for (const d of result.dropped)
      io.err(
        `warning: ${reference}: source attribute ${d.keyword} ${d.tag} ${d.action === 'kept' ? 'is invalid but required, kept' : d.action === 'emptied' ? 'emptied in the SEG' : 'left out of the SEG'}: ${d.problems.join('; ')}`,
      );
    for (const s of result.segments) io.out(`  segment ${s.number} "${s.label}" (value ${s.value}): ${s.voxels} voxels in ${s.frames} frames, ${s.code}`);
    const statsPath = flag(args, 'stats');
    if (statsPath) {
      const names = Object.fromEntries(result.segments.map((s) => [s.value, s.label]));
      const stats = volumeStats(mask, names);
      stats.structures = stats.structures.filter((s) => s.value in names);
      await writeStatsCsv(statsPath, stats, overwrite);
      io.out(`${statsPath}: volumes of ${stats.structures.length} structures`);
    }
    return 0;
  },
};

/** The provenance field of a "neuroverse run --json" report, checked field by field: it is a file from disk. */
export async function readRunProvenance(file: string): Promise<SegProvenance> {
  let report: unknown;
  try {
    report = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new InputError(file, `cannot read the run's JSON report (${(err as Error).message})`);
  }
  const p = (report as { provenance?: Record<string, unknown> } | null)?.provenance;
  if (!p || typeof p !== 'object') throw new InputError(file, 'has no "provenance" field: give the output of "neuroverse run ... --json"');
  const str = (k: string) => (typeof p[k] === 'string' ? (p[k] as string) : undefined);
  if (p.type !== 'AUTOMATIC' || !str('algorithmName')) throw new InputError(file, 'provenance must be of an AUTOMATIC run with an algorithmName');
  const set = p.contextSet as Record<string, unknown> | undefined;
  const contextSet =
    set && typeof set.name === 'string' && typeof set.identity === 'string' && typeof set.pairs === 'number'
      ? { name: set.name, identity: set.identity, pairs: set.pairs }
      : undefined;
  const method = p.method === 'model' || p.method === 'vote' ? p.method : undefined;
  return { type: 'AUTOMATIC', algorithmName: str('algorithmName'), algorithmVersion: str('algorithmVersion'), method, alignment: str('alignment'), contextSet };
}

export function parseSegment(s: string): SegmentSpec {
  const m = /^(.+)=(-?\d+)$/.exec(s.trim());
  if (!m) throw new InputError(undefined, `--segment ${s}: expected NAME=VALUE, e.g. Left-Hippocampus=17`, 'usage');
  return { label: m[1].trim(), value: Number(m[2]) };
}
