import { dirname } from 'node:path';
import { InputError } from '../common/errors.js';
import { importSegOnScan, readDicomFile, scanDicomFolder, SEG_SOP_CLASS, writeNifti, type SegLabelMap } from '../imaging/index.js';
import type { CliIo } from './command.js';
import { cliProgress } from './progress.js';
import { lazyWorkerSeriesDecoder } from '../compute/dicom-decode.js';

/** Whether a file given to `convert` is a DICOM-SEG (any other file is left to the NIfTI reader). */
export async function isSegFile(path: string): Promise<boolean> {
  const file = await readDicomFile(path);
  // The SOP Class UID sits near the start of the file; a byte search avoids parsing a large SEG twice.
  const head = new TextDecoder('latin1').decode(file.data.subarray(0, 4096));
  return head.includes(SEG_SOP_CLASS);
}

export interface SegConvertOptions {
  out: string;
  reference?: string;
  overwrite: boolean;
  json: boolean;
}

/**
 * `convert seg.dcm`: the SEG as a label map on the grid of the series it references, found in
 * --reference or, without it, in the SEG's own folder.
 */
export async function convertSeg(input: string, options: SegConvertOptions, io: CliIo): Promise<void> {
  const file = await readDicomFile(input);
  const folder = options.reference ?? dirname(input);
  const progress = cliProgress(io);
  let result;
  try {
    const scan = await scanDicomFolder(folder, progress.report);
    result = await importSegOnScan(file, scan, progress.report, lazyWorkerSeriesDecoder());
  } catch (err) {
    if (err instanceof InputError && !options.reference && (err.code === 'seg-reference' || err.code === 'seg-only')) {
      throw new InputError(err.file, `${err.problem} (give the folder of the series with --reference DIR)`, err.code);
    }
    throw err;
  } finally {
    progress.done();
  }
  const { labelMap, seriesUid } = result;
  await writeNifti(options.out, labelMap.volume, { intent: 'label', overwrite: options.overwrite });
  if (options.json) {
    io.out(JSON.stringify(segTable(input, options.out, seriesUid, labelMap), null, 2));
    return;
  }
  const v = labelMap.volume;
  io.out(
    `${options.out}: ${v.dims.join('×')} label map from DICOM-SEG ${input} on series ${seriesUid} (frames placed by ${labelMap.placedBy}, values: ${labelMap.valuesFrom})`,
  );
  for (const s of labelMap.segments) {
    io.out(
      `  value ${s.value}  segment ${s.number} "${s.name}"  ${hex(s.color)}  ${s.voxels} voxels in ${s.frames} frames${s.property ? `  (${s.property})` : ''}`,
    );
  }
  if (labelMap.overlapVoxels) io.out(`  ${labelMap.overlapVoxels} voxels belong to several segments: each has the value of the highest segment number`);
}

function segTable(input: string, out: string, seriesUid: string, m: SegLabelMap) {
  return {
    out,
    seg: input,
    referencedSeriesInstanceUid: seriesUid,
    dims: m.volume.dims,
    placedBy: m.placedBy,
    valuesFrom: m.valuesFrom,
    overlapVoxels: m.overlapVoxels,
    segments: m.segments.map((s) => ({ ...s, hex: hex(s.color) })),
  };
}

const hex = (c: readonly number[]) => `#${c.map((x) => x.toString(16).padStart(2, '0')).join('')}`;
