import { InputError } from '../../common/errors.js';
import { exportSeg, type SegmentSpec } from '../../export/seg/index.js';
import { volumeStats, writeStatsCsv } from '../../export/stats.js';
import { readNifti } from '../../imaging/index.js';
import { flag, flagAll, hasFlag, parseArgs } from '../args.js';
import type { CliCommand } from '../command.js';

export const exportSegCommand: CliCommand = {
  name: 'export-seg',
  summary: 'write a label mask as a binary DICOM-SEG on its DICOM reference series',
  usage: `usage: neuroverse export-seg --mask <m.nii[.gz]> --reference <dicom-folder> --out <seg.dcm>
                           [--segment NAME=VALUE ...] [--series UID] [--manual] [--stats <file.csv>] [--force]

  --mask FILE        label mask on the reference series' grid (e.g. from "neuroverse run" or "convert")
  --reference DIR    folder with the source DICOM series the mask was made on
  --out FILE         DICOM-SEG file to write (never overwritten without --force)
  --segment N=V      one segment named N for mask value V (repeat); the name picks the SNOMED CT code
                     (e.g. Left-Hippocampus=17); default: one "Label V" segment per non-zero value
  --series UID       the reference series when the folder holds several
  --manual           segments were drawn by hand (SegmentAlgorithmType MANUAL, not AUTOMATIC)
  --stats FILE       also write the voxel count and volume (mL) of each segment as CSV
  --force            replace existing output files`,
  async run(argv, io) {
    const args = parseArgs(argv, { value: ['mask', 'reference', 'out', 'segment', 'series', 'stats'], boolean: ['force', 'manual'] });
    if (args.positional.length) throw new InputError(undefined, `unexpected argument ${args.positional[0]}`, 'usage');
    const maskPath = flag(args, 'mask');
    const reference = flag(args, 'reference');
    const out = flag(args, 'out');
    if (!maskPath || !reference || !out) throw new InputError(undefined, '--mask, --reference and --out are required', 'usage');
    const segments = flagAll(args, 'segment').map(parseSegment);
    const mask = await readNifti(maskPath);
    const overwrite = hasFlag(args, 'force');
    const result = await exportSeg(mask, maskPath, reference, out, {
      segments,
      seriesUid: flag(args, 'series'),
      overwrite,
      algorithm: hasFlag(args, 'manual') ? { type: 'MANUAL' } : { type: 'AUTOMATIC', name: 'Neuroverse3D' },
    });
    io.out(`${out}: DICOM-SEG, ${result.frames} frames on series ${result.referenceSeriesUid}`);
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

function parseSegment(s: string): SegmentSpec {
  const m = /^(.+)=(-?\d+)$/.exec(s.trim());
  if (!m) throw new InputError(undefined, `--segment ${s}: expected NAME=VALUE, e.g. Left-Hippocampus=17`, 'usage');
  return { label: m[1].trim(), value: Number(m[2]) };
}
