import { readFile } from 'node:fs/promises';
import { InputError } from '../common/errors.js';
import type { Volume } from '../imaging/volume.js';
import { appVersion } from '../settings/version.js';
import { lesionStats } from './lesion-stats.js';
import { buildReportHtml, type ReportIdentifiers } from './report.js';
import { volumeStats } from './stats.js';
import type { SegProvenance } from './types.js';
import { demographicsOf, volumetry, volumetryCsv } from './volumetry/index.js';
import type { IcvEstimate, NormTable, VolumetryResult } from './volumetry/types.js';

/** What a report needs of a run's result: the fields of `neuroverse run --json` (the batch passes the same). */
export interface RunSummary {
  method?: string;
  align?: string;
  model?: string | null;
  contextSize?: number;
  /** mL of the target whose label is in doubt (doubt ≥ 0.5). */
  uncertainMl?: number | null;
  qc?: { kind: string; message: string; pair?: string }[];
  provenance?: SegProvenance;
  /** The run segmented lesions (a tumour, plaques): the report counts them and gives each one's volume. */
  lesion?: boolean;
}

/** A run's JSON report from a file, checked for the fields a report uses (it is a file from disk). */
export async function readRunSummary(file: string): Promise<RunSummary> {
  let j: unknown;
  try {
    j = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new InputError(file, `cannot read the run's JSON report (${(err as Error).message})`);
  }
  if (!j || typeof j !== 'object' || Array.isArray(j)) throw new InputError(file, 'is not a run report: give the output of "neuroverse run ... --json"');
  const o = j as Record<string, unknown>;
  const qc = Array.isArray(o.qc)
    ? o.qc.filter((w): w is { kind: string; message: string } => typeof w?.message === 'string' && typeof w?.kind === 'string')
    : [];
  const p = o.provenance as SegProvenance | undefined;
  return {
    method: typeof o.method === 'string' ? o.method : undefined,
    align: typeof o.align === 'string' ? o.align : undefined,
    model: typeof o.model === 'string' ? o.model : null,
    contextSize: typeof o.contextSize === 'number' ? o.contextSize : undefined,
    uncertainMl: typeof o.uncertainMl === 'number' ? o.uncertainMl : null,
    qc,
    provenance: p && typeof p === 'object' && typeof p.type === 'string' ? p : undefined,
    lesion: !!o.lesion && typeof o.lesion === 'object',
  };
}

export interface ScanReportInput {
  target: Volume;
  targetName: string;
  mask: Volume;
  run?: RunSummary;
  /** Structures to report (default: every non-zero value of the mask). */
  labels?: number[];
  names?: Record<number, string>;
  icv?: IcvEstimate | null;
  /** Age and sex given by the user; the DICOM header fills what is not given. */
  given?: { age?: number; sex?: string };
  norms?: readonly NormTable[];
  createdAt?: string;
  /** More warnings (e.g. an ICV atlas that disagrees). */
  warnings?: string[];
}

export interface ScanReport {
  html: string;
  volumetry: VolumetryResult;
  /** RFC 4180 CSV of the volumetry rows, with a leading "scan" column. */
  csv: string;
  warnings: string[];
}

/** One page per scan: identifiers, volumetry with norms, key slices, warnings and how the result was made. */
export function scanReport(r: ScanReportInput): ScanReport {
  const header = r.target.source.dicom;
  const v = volumetry(r.mask, { labels: r.labels, names: r.names, icv: r.icv ?? null, demographics: demographicsOf(header, r.given), norms: r.norms });
  const warnings = [...(r.run?.qc ?? []).map((w) => w.message), ...(r.warnings ?? [])];
  if (r.run?.uncertainMl) warnings.push(`${r.run.uncertainMl} mL of the segmented voxels are in doubt (the context labels disagree there, doubt ≥ 0.5)`);
  for (const row of v.rows) if (row.voxels === 0) warnings.push(`${row.name} (label ${row.value}) is empty in the result: it was not found`);
  const str = (k: string) => (header?.[k] !== undefined && header[k] !== '' ? String(header[k]) : undefined);
  const identifiers: ReportIdentifiers = {
    patientId: str('patientId'),
    patientName: str('patientName')?.replace(/\^+/g, ' ').trim(),
    studyDate: str('studyDate'),
    accessionNumber: str('accessionNumber'),
    seriesDescription: str('seriesDescription'),
  };
  const p = r.run?.provenance;
  const html = buildReportHtml({
    target: r.target,
    targetName: r.targetName,
    mask: r.mask,
    stats: volumeStats(r.mask, r.names),
    model: { name: p?.algorithmName ?? r.run?.model ?? 'not recorded', version: p?.algorithmVersion },
    contextSet: { name: p?.contextSet?.name ?? 'not recorded', pairs: [] },
    createdAt: r.createdAt ?? new Date().toISOString(),
    identifiers,
    volumetry: v,
    warnings,
    provenance: p,
    versions: { 'Neuroverse Workstation': appVersion() },
    notes: p ? undefined : ['No run report was given: how the segmentation was made is not known to this report.'],
    // Counted on the mask given, not taken from the run: a corrected mask is reported as it stands.
    lesions: r.run?.lesion ? lesionStats(r.mask) : undefined,
  });
  return { html, volumetry: v, csv: volumetryCsv(v, { scan: r.targetName }), warnings };
}
