import type { NaturalDataset } from 'dcmjs';
import type { SegProvenance } from '../types.js';

export const EQUIPMENT = { manufacturer: 'Neuroverse Workstation', model: 'Neuroverse Workstation' };

/** CID 7162 has no family for registration-based label fusion; a private scheme ("99" prefix, PS3.16 §8.2) names it. */
const FAMILY = {
  model: { CodeValue: '123110', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Artificial Intelligence' },
  vote: { CodeValue: 'ATLAS-VOTE', CodingSchemeDesignator: '99NEUROVERSE', CodeMeaning: 'Atlas label fusion by majority vote' },
};

/** The fusion methods' table (fusion/methods.ts) passes its family; older provenance records name only the method. */
function familyOf(p: SegProvenance) {
  return p.algorithmFamily ?? (p.method === 'vote' ? FAMILY.vote : FAMILY.model);
}

/** Declares the private scheme (Coding Scheme Identification, SOP Common) when a segment's family uses it. */
export function codingSchemes(p: SegProvenance): NaturalDataset[] {
  if (p.type === 'MANUAL') return [];
  const family = familyOf(p);
  if (family.CodingSchemeDesignator !== FAMILY.vote.CodingSchemeDesignator) return [];
  return [
    {
      CodingSchemeDesignator: family.CodingSchemeDesignator,
      CodingSchemeName: 'Neuroverse Workstation local codes',
      CodingSchemeResponsibleOrganization: EQUIPMENT.manufacturer,
    },
  ];
}

/** The SEG's Segment Algorithm Name (LO, 64 characters): the model or method that made it. */
export function algorithmName(p: SegProvenance): string {
  return (p.algorithmName ?? 'Neuroverse3D').slice(0, 64);
}

/** One sentence of how the segmentation was made: alignment, context set and its identity, correction. */
export function provenanceText(p: SegProvenance): string {
  const parts: string[] = [];
  if (p.method) parts.push(p.methodDescription ?? (p.method === 'vote' ? 'atlas vote of registered context labels' : 'in-context model'));
  if (p.alignment) parts.push(`alignment ${p.alignment}`);
  if (p.contextSet) parts.push(`context set "${p.contextSet.name}" (${p.contextSet.pairs} pairs, identity ${p.contextSet.identity})`);
  if (p.runId) parts.push(`library run ${p.runId}`);
  if (p.type === 'SEMIAUTOMATIC') parts.push('corrected by hand after the run');
  return parts.join('; ');
}

/**
 * Contributing Equipment (General Equipment module's sequence, as IHE AI Results asks): this workstation as
 * Processing Equipment, with its version, when, and how.
 */
export function contributingEquipment(p: SegProvenance, softwareVersion: string, when: Date): NaturalDataset {
  const description = p.type === 'MANUAL' ? 'segments drawn by hand' : `${algorithmName(p)}: ${provenanceText(p)}`;
  return {
    Manufacturer: EQUIPMENT.manufacturer,
    ManufacturerModelName: EQUIPMENT.model,
    SoftwareVersions: softwareVersion.slice(0, 64),
    ContributionDateTime: dicomDateTime(when),
    ContributionDescription: description.slice(0, 1024),
    PurposeOfReferenceCodeSequence: [{ CodeValue: '109102', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Processing Equipment' }],
  };
}

/** Segmentation Algorithm Identification (Algorithm Identification macro) of one segment; none when drawn by hand. */
export function algorithmIdentification(p: SegProvenance, softwareVersion: string): NaturalDataset | null {
  if (p.type === 'MANUAL') return null;
  const params = provenanceText(p);
  return {
    AlgorithmFamilyCodeSequence: [familyOf(p)],
    AlgorithmName: algorithmName(p),
    AlgorithmVersion: (p.algorithmVersion ?? softwareVersion).slice(0, 64),
    ...(params ? { AlgorithmParameters: params.slice(0, 10240) } : {}),
    AlgorithmSource: `${EQUIPMENT.manufacturer} ${softwareVersion}`.slice(0, 64),
  };
}

function dicomDateTime(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}${sign}${p(Math.floor(Math.abs(off) / 60))}${p(Math.abs(off) % 60)}`;
}
