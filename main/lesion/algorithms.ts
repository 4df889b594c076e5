import type { LesionMethod } from './ids.js';

/**
 * How a lesion run names its method in a DICOM-SEG (Segment Algorithm Name, Algorithm Family, parameters) and the
 * audit log. The family codes are local ones (99NEUROVERSE): no standard code says "fitted on the context at run time".
 */
export const LESION_ALGORITHMS: Record<
  LesionMethod,
  { name: string; family: { CodeValue: string; CodingSchemeDesignator: string; CodeMeaning: string }; description: string }
> = {
  classifier: {
    name: 'Neuroverse lesion classifier',
    family: { CodeValue: 'RUNTIME-GBT', CodingSchemeDesignator: '99NEUROVERSE', CodeMeaning: 'Boosted trees fitted on the context at run time' },
    description: 'lesion classifier (boosted trees) fitted on the context pairs at run time',
  },
  threshold: {
    name: 'Neuroverse lesion threshold',
    family: { CodeValue: 'FITTED-THRESHOLD', CodingSchemeDesignator: '99NEUROVERSE', CodeMeaning: 'Intensity threshold fitted on the context' },
    description: 'intensity threshold fitted on the context pairs',
  },
};
