import { stat } from 'node:fs/promises';
import { InputError } from '../../common/errors.js';
import { correctSliceTilt, isNiftiName, qformDeviationMm, sliceTiltDegrees, writeNifti } from '../../imaging/index.js';
import { flag, hasFlag, parseArgs } from '../args.js';
import type { CliCommand } from '../command.js';
import { openVolumeForCli } from '../open-volume.js';
import { convertSeg, isSegFile } from '../seg-convert.js';

export const convertCommand: CliCommand = {
  name: 'convert',
  summary: 'convert a DICOM folder, NIfTI file or DICOM-SEG to NIfTI-1 (exact sform and qform)',
  usage: `usage: neuroverse convert <dicom-folder|file.nii[.gz]> --out <file.nii[.gz]> [--series UID] [--volume N|NAME] [--tilt-correct] [--force]
       neuroverse convert <seg.dcm> --out <mask.nii[.gz]> [--reference <dicom-folder>] [--json] [--force]

  --out FILE        output NIfTI-1 file; .nii.gz is gzip-compressed
  --series UID      SeriesInstanceUID to convert when the folder holds several series
  --reference DIR   for a DICOM-SEG: the folder holding the series it references (default: the SEG's folder);
                    the label map is written on that series' grid, segment N as value N (or the value our
                    export recorded); where segments overlap, the highest segment number wins
  --volume N|NAME   a series that makes several volumes (echoes, magnitude and phase, ADC beside the
                    diffusion images): which one, by number or name ("neuroverse info" lists them); default 1
  --tilt-correct    a stack whose slices are stepped obliquely to their planes (gantry-tilted CT) is resampled
                    onto the orthogonal grid of its slice planes, so the qform holds it too (otherwise the
                    sform keeps the tilt as a shear and a warning says how far the qform is off)
  --json            for a DICOM-SEG: print the segment table (names, values, colours, voxels) as JSON
  --force           replace FILE if it exists (it is never overwritten otherwise)`,
  async run(argv, io) {
    const args = parseArgs(argv, { value: ['out', 'series', 'reference', 'volume'], boolean: ['force', 'json', 'tilt-correct'] });
    const [input, extra] = args.positional;
    const out = flag(args, 'out');
    if (!input || extra !== undefined) throw new InputError(undefined, 'give exactly one input file or folder', 'usage');
    if (!out) throw new InputError(undefined, 'missing --out <file.nii.gz>', 'usage');
    if (!/\.nii(\.gz)?$/i.test(out)) throw new InputError(out, 'output name must end in .nii or .nii.gz', 'usage');
    const isFile = !isNiftiName(input) && (await stat(input).catch(() => null))?.isFile();
    if (isFile) {
      if (!(await isSegFile(input))) {
        throw new InputError(input, 'is not a DICOM-SEG; convert reads a NIfTI file, a DICOM folder, or a DICOM-SEG file', 'not-seg');
      }
      await convertSeg(input, { out, reference: flag(args, 'reference'), overwrite: hasFlag(args, 'force'), json: hasFlag(args, 'json') }, io);
      return 0;
    }
    for (const only of ['reference', 'json'] as const) {
      if (args.flags.has(only)) throw new InputError(undefined, `--${only} applies to a DICOM-SEG input only`, 'usage');
    }
    const opened = await openVolumeForCli(input, flag(args, 'series'), io, flag(args, 'volume'));
    const tilt = sliceTiltDegrees(opened.affine);
    const volume = hasFlag(args, 'tilt-correct') && tilt > 0.1 ? correctSliceTilt(opened) : opened;
    if (volume.source.note) io.err(`note: ${volume.source.note}`);
    // FSL and others read the qform: say when it cannot be where the sform is (a shear), and by how much.
    const off = qformDeviationMm(volume.affine, volume.dims);
    if (off > 0.5 * Math.min(...volume.spacing.slice(0, 3)))
      io.err(
        `warning: ${out}: the qform cannot hold this affine's shear; it is set from the nearest rigid part, up to ${off.toFixed(1)} mm away at the corners (the sform is exact)${hasFlag(args, 'tilt-correct') ? '' : '; --tilt-correct resamples onto an orthogonal grid'}`,
      );
    await writeNifti(out, volume, { overwrite: hasFlag(args, 'force') });
    io.out(`${out}: ${volume.dims.join('×')} ${volume.source.reader ?? ''} → NIfTI-1`);
    const all = volume.source.volumes;
    if (all && all.length > 1)
      io.out(
        `  volume ${volume.source.volumeIndex} of ${all.length} this series makes (${all.map((n, i) => `${i + 1} ${n}`).join(', ')}): pick another with --volume`,
      );
    return 0;
  },
};
