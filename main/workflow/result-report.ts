import { InputError } from '../common/errors.js';
import { assertSameGrid } from '../export/nifti-export.js';
import { scanReport, type RunSummary } from '../export/scan-report.js';
import type { ReportRequest } from '../export/types.js';
import { demographicsOf, volumetry } from '../export/volumetry/index.js';
import type { VolumetryResult } from '../export/volumetry/types.js';
import type { IcvAtlasSet } from '../pipeline/icv.js';
import type { VolumeStore } from '../session/volume-store.js';
import type { RunServices } from './orchestrate-run.js';
import type { ResultOrigin } from './result-origin.js';
import { scanIcv } from './scan-icv.js';

/** What the app's report and worklist volumetry need: the open volumes, where each result came from, ICV atlases. */
export interface ResultReportServices extends Pick<RunServices, 'pool' | 'cache' | 'signal'> {
  volumes: VolumeStore;
  origins: ReadonlyMap<string, ResultOrigin>;
  /** Intracranial-volume atlases (library/starter.ts); none: no % ICV. */
  icvAtlases: IcvAtlasSet;
}

/** Names of a result's values: its structures' (1..n, as the run wrote them), or the request's for other masks. */
function namesOf(origin: ResultOrigin | undefined, given?: Record<number, string>): Record<number, string> | undefined {
  if (given) return given;
  return origin ? Object.fromEntries(origin.structures.map((s, k) => [k + 1, s.name])) : undefined;
}

/** ICV only for anatomy (lesions are counted, not normed) and unless unticked; scanIcv does nothing without atlases. */
function wantsIcv(origin: ResultOrigin | undefined, asked: boolean | undefined): boolean {
  return asked !== false && !origin?.run?.lesion;
}

/**
 * The volumetry of an open result on its scan (volumes, sides, asymmetry, % ICV, percentiles), as the batch's
 * CSV has it: the worklist's rows in the app.
 */
export async function resultVolumetry(
  s: ResultReportServices,
  targetId: string,
  maskId: string,
  o: { icv?: boolean } = {},
): Promise<{ volumetry: VolumetryResult; warnings: string[] }> {
  const target = s.volumes.get(targetId);
  const mask = s.volumes.get(maskId);
  const origin = s.origins.get(maskId);
  const icv = wantsIcv(origin, o.icv) ? await scanIcv(target, s.icvAtlases, s, 'affine', origin?.registeredImages) : null;
  const v = volumetry(mask, {
    names: namesOf(origin),
    icv: icv?.icv ?? null,
    demographics: demographicsOf(target.source.dicom),
  });
  return { volumetry: v, warnings: icv?.warnings ?? [] };
}

/**
 * The app's one-page report of a result: the same page as the batch's and `neuroverse report`'s (export/scan-report.ts),
 * with how the result was made from the run that made it (or "not known" for a mask opened from a file), the ICV
 * estimated on the scan, and age and sex from the request or the DICOM header.
 */
export async function resultReport(s: ResultReportServices, targetId: string, maskId: string, req: ReportRequest = {}): Promise<Uint8Array> {
  const target = s.volumes.get(targetId);
  const mask = s.volumes.get(maskId);
  const info = s.volumes.info(maskId);
  if (info.role !== 'label') throw new InputError(undefined, `${info.name} is not a label mask: a report is of a segmentation`, 'usage');
  assertSameGrid(target, mask, 'mask', info.name);
  const origin = s.origins.get(maskId);
  const icv = wantsIcv(origin, req.icv) ? await scanIcv(target, s.icvAtlases, s, 'affine', origin?.registeredImages) : null;
  const run: RunSummary | undefined = origin?.run ? { ...origin.run, provenance: origin.provenance } : undefined;
  const report = scanReport({
    target,
    targetName: s.volumes.info(targetId).name,
    mask,
    run,
    names: namesOf(origin, req.names),
    // Names given for a mask no run made say which of its values to report (an atlas holds many more).
    labels: req.names && !origin ? Object.keys(req.names).map(Number) : undefined,
    icv: icv?.icv ?? null,
    given: { age: req.age, sex: req.sex },
    warnings: icv?.warnings,
  });
  return new TextEncoder().encode(report.html);
}
