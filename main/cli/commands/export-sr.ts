import { InputError } from '../../common/errors.js';
import { exportSr } from '../../export/sr/index.js';
import type { SegProvenance } from '../../export/types.js';
import { readNifti } from '../../imaging/index.js';
import { flag, flagAll, hasFlag, parseArgs } from '../args.js';
import type { CliCommand } from '../command.js';
import { parseSegment, readRunProvenance } from './export-seg.js';

export const exportSrCommand: CliCommand = {
  name: 'export-sr',
  summary: 'write the volume of each segment of a label mask as a DICOM Structured Report (TID 1500)',
  usage: `usage: neuroverse export-sr --mask <m.nii[.gz]> --reference <dicom-folder> --out <sr.dcm>
                          [--segment NAME=VALUE ...] [--seg <seg.dcm>] [--series UID]
                          [--provenance <run.json> | --manual] [--force] [--json]

  --mask FILE        label mask on the reference series' grid (e.g. from "neuroverse run" or "convert")
  --reference DIR    folder with the source DICOM series the mask was made on
  --out FILE         SR file to write (Comprehensive SR, TID 1500 Measurement Report; never overwritten
                     without --force)
  --segment N=V      one measurement named N for mask value V (repeat); the name picks the SNOMED CT code
                     and laterality (e.g. Left-Hippocampus=17); default: one "Label V" per non-zero value
  --seg FILE         the DICOM-SEG of this mask (from export-seg): each volume then references its segment,
                     as TID 1411 asks; without it the SR names only the source series
  --series UID       the reference series when the folder holds several
  --provenance FILE  the "neuroverse run --json" output of the run that made the mask (algorithm, alignment,
                     context set are recorded); default: AUTOMATIC by "Neuroverse3D"
  --manual           segments were drawn by hand (no algorithm recorded)
  --json             print the result as JSON
  --force            replace an existing output file`,
  async run(argv, io) {
    const args = parseArgs(argv, { value: ['mask', 'reference', 'out', 'segment', 'series', 'provenance', 'seg'], boolean: ['force', 'manual', 'json'] });
    if (args.positional.length) throw new InputError(undefined, `unexpected argument ${args.positional[0]}`, 'usage');
    const maskPath = flag(args, 'mask');
    const reference = flag(args, 'reference');
    const out = flag(args, 'out');
    if (!maskPath || !reference || !out) throw new InputError(undefined, '--mask, --reference and --out are required', 'usage');
    const provenanceFile = flag(args, 'provenance');
    if (provenanceFile && hasFlag(args, 'manual')) throw new InputError(undefined, 'give --provenance or --manual, not both', 'usage');
    const provenance: SegProvenance = hasFlag(args, 'manual')
      ? { type: 'MANUAL' }
      : provenanceFile
        ? await readRunProvenance(provenanceFile)
        : { type: 'AUTOMATIC', algorithmName: 'Neuroverse3D' };
    const mask = await readNifti(maskPath);
    const result = await exportSr(mask, maskPath, reference, out, {
      segments: flagAll(args, 'segment').map(parseSegment),
      segFile: flag(args, 'seg'),
      seriesUid: flag(args, 'series'),
      overwrite: hasFlag(args, 'force'),
      provenance,
    });
    for (const d of result.dropped) io.err(`warning: ${reference}: source attribute ${d.keyword} ${d.tag} ${d.action} in the SR: ${d.problems.join('; ')}`);
    if (hasFlag(args, 'json')) {
      const { bytes: _bytes, ...rest } = result;
      io.out(JSON.stringify({ file: out, ...rest }, null, 2));
      return 0;
    }
    io.out(
      `${out}: DICOM SR (TID 1500), ${result.measurements.length} volume${result.measurements.length === 1 ? '' : 's'} on series ${result.referenceSeriesUid}`,
    );
    for (const m of result.measurements)
      io.out(
        `  "${m.label}" (value ${m.value}): ${m.volumeMl.toFixed(4)} mL, ${m.voxels} voxels${m.segmentNumber !== undefined ? `, SEG segment ${m.segmentNumber}` : ''}`,
      );
    return 0;
  },
};
