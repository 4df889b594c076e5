import { stat } from 'node:fs/promises';
import { InputError } from '../../common/errors.js';
import { datatypeName, orientationCode, scanDicomFolder, segReferencedSeries, seriesSummaries, valueRange, type Volume } from '../../imaging/index.js';
import { fileProblem } from '../../common/errors.js';
import { flag, hasFlag, parseArgs } from '../args.js';
import type { CliCommand } from '../command.js';
import { openVolumeForCli } from '../open-volume.js';

export const infoCommand: CliCommand = {
  name: 'info',
  summary: 'describe a NIfTI file or DICOM folder (geometry, series, scanner)',
  usage: `usage: neuroverse info <file.nii[.gz]|dicom-folder> [--series UID] [--json]

  --series UID   describe this series of a folder that holds several
  --json         print one JSON object instead of text`,
  async run(argv, io) {
    const args = parseArgs(argv, { value: ['series'], boolean: ['json'] });
    const [input] = args.positional;
    if (!input) throw new InputError(undefined, 'give a file or folder', 'usage');
    const json = hasFlag(args, 'json');
    let isDir: boolean;
    try {
      isDir = (await stat(input)).isDirectory();
    } catch (err) {
      throw new InputError(input, fileProblem(err));
    }
    const result: Record<string, unknown> = { path: input };
    let seriesUid = flag(args, 'series');
    if (isDir) {
      const scan = await scanDicomFolder(input);
      result.kind = 'dicom';
      result.series = seriesSummaries(scan);
      result.segs = scan.segs.map((h) => ({ file: h.file.name, description: h.seriesDescription, referencedSeries: segReferencedSeries(h) }));
      result.skippedFiles = scan.skipped;
      if (scan.series.length === 1) seriesUid ??= scan.series[0].uid;
    } else {
      result.kind = 'nifti';
    }
    if (!isDir || seriesUid) result.volume = describe(await openVolumeForCli(input, seriesUid, io));
    if (json) {
      io.out(JSON.stringify(result, null, 2));
      return 0;
    }
    for (const s of (result.series as ReturnType<typeof seriesSummaries>) ?? []) {
      io.out(
        `series #${s.seriesNumber ?? '?'} ${s.modality} "${s.description}" ${s.frames} frames in ${s.files} files, ${s.columns}×${s.rows} — ${s.reader} (${s.readerReason})`,
      );
      io.out(`  ${s.seriesInstanceUid}`);
    }
    for (const g of (result.segs as { file: string; referencedSeries: string[] }[]) ?? []) {
      io.out(`DICOM-SEG ${g.file} on series ${g.referencedSeries.join(', ') || '(none named)'} (neuroverse convert ${g.file} --out mask.nii.gz)`);
    }
    const v = result.volume as ReturnType<typeof describe> | undefined;
    if (v) {
      io.out(`dims ${v.dims.join('×')}  spacing ${v.spacing.map((x) => x.toFixed(4)).join('×')} mm  ${v.datatype}  orientation ${v.orientation}`);
      io.out(`range ${v.range[0]} … ${v.range[1]}  (slope ${v.slope}, intercept ${v.intercept})`);
      io.out(`affine (voxel → RAS mm):`);
      for (const row of v.affine) io.out(`  ${row.map((x) => x.toFixed(4).padStart(11)).join(' ')}`);
      if (v.description) io.out(`description "${v.description}"`);
      io.out(`read by ${v.reader}`);
      if (v.note) io.out(`note: ${v.note}`);
      if (v.volumes && v.volumes.length > 1)
        io.out(`this series makes ${v.volumes.length} volumes (convert --volume N|NAME): ${v.volumes.map((n, i) => `${i + 1} ${n}`).join(', ')}`);
    }
    return 0;
  },
};

function describe(v: Volume) {
  return {
    dims: v.dims,
    spacing: v.spacing,
    datatype: datatypeName(v.data),
    orientation: orientationCode(v.affine),
    affine: v.affine,
    slope: v.slope,
    intercept: v.intercept,
    range: valueRange(v),
    description: v.description,
    reader: v.source.reader,
    note: v.source.note,
    volumes: v.source.volumes,
    seriesInstanceUid: v.source.seriesInstanceUid,
    scanner: v.source.dicom,
  };
}
