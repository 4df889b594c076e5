import { InputError } from '../../common/errors.js';
import { writeNifti } from '../../imaging/index.js';
import { flag, hasFlag, parseArgs } from '../args.js';
import type { CliCommand } from '../command.js';
import { openVolumeForCli } from '../open-volume.js';

export const convertCommand: CliCommand = {
  name: 'convert',
  summary: 'convert a DICOM folder or NIfTI file to NIfTI-1 (exact sform and qform)',
  usage: `usage: neuroverse convert <dicom-folder|file.nii[.gz]> --out <file.nii[.gz]> [--series UID] [--force]

  --out FILE     output NIfTI-1 file; .nii.gz is gzip-compressed
  --series UID   SeriesInstanceUID to convert when the folder holds several series
  --force        replace FILE if it exists (it is never overwritten otherwise)`,
  async run(argv, io) {
    const args = parseArgs(argv, { value: ['out', 'series'], boolean: ['force'] });
    const [input, extra] = args.positional;
    const out = flag(args, 'out');
    if (!input || extra !== undefined) throw new InputError(undefined, 'give exactly one input file or folder', 'usage');
    if (!out) throw new InputError(undefined, 'missing --out <file.nii.gz>', 'usage');
    if (!/\.nii(\.gz)?$/i.test(out)) throw new InputError(out, 'output name must end in .nii or .nii.gz', 'usage');
    const volume = await openVolumeForCli(input, flag(args, 'series'), io);
    await writeNifti(out, volume, { overwrite: hasFlag(args, 'force') });
    io.out(`${out}: ${volume.dims.join('×')} ${volume.source.reader ?? ''} → NIfTI-1`);
    return 0;
  },
};
