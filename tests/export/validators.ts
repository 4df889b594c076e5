import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

/** dicom3tools' validators: tests fail (not skip) when they are missing, with how to install them. */
function tool(name: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${name} not found: install dicom3tools (apt-get install dicom3tools; scripts/setup.sh --with-test-deps does)`);
  return r.stdout.trim();
}

export interface Findings {
  errors: string[];
  warnings: string[];
  output: string;
}

function findings(output: string): Findings {
  const lines = output.split('\n').map((l) => l.trim());
  return { errors: lines.filter((l) => /^Error/.test(l)), warnings: lines.filter((l) => /^Warning/.test(l)), output };
}

export function dciodvfy(file: string): Findings {
  const r = spawnSync(tool('dciodvfy'), [file], { encoding: 'utf8', maxBuffer: 16 << 20 });
  return findings(`${r.stdout}\n${r.stderr}`);
}

/** Entity consistency between the SEG and its source instances (patient, study, frame of reference). */
export function dcentvfy(seg: string, sources: string[]): Findings {
  const r = spawnSync(tool('dcentvfy'), [seg, ...sources], { encoding: 'utf8', maxBuffer: 16 << 20 });
  return findings(`${r.stdout}\n${r.stderr}`);
}

export const CHECK_SEG_PY = resolve(import.meta.dirname, 'check_seg.py');

/**
 * dciodvfy warnings a valid SEG keeps. Inherited: a PatientName without "^" is flagged as the retired name form,
 * but the SEG has to carry the source's exact patient name (dcentvfy checks it). Ours: dicom3tools knows only the
 * standard's coding schemes, and a local "99" scheme (PS3.16 §8, declared in the SEG's Coding Scheme
 * Identification Sequence) names the atlas-vote algorithm family that CID 7162 lacks.
 */
export const ACCEPTED_WARNINGS = [
  /\(0x0010,0x0010\) PN Patient's Name .* Retired Person Name form/,
  /Unrecognized defined term <99NEUROVERSE> for value 1 of attribute <Coding Scheme Designator>/,
];

/**
 * dcentvfy warnings that cannot be removed without making the SEG invalid: the Philips source carries an
 * empty ProcedureCodeSequence, which dciodvfy reports as an error in the source itself (1-n items
 * required); the SEG leaves it out, so dcentvfy sees it "present in one instance but not the other".
 */
export const UNAVOIDABLE_ENTITY_WARNINGS = [
  { warning: /Element=<ProcedureCodeSequence> IE=<Study>/, sourceError: /Bad Sequence number of Items 0 .*Element=<ProcedureCodeSequence>/ },
];
