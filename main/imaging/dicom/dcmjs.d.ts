/**
 * The slice of dcmjs 0.51 we use. dcmjs ships no types; naturalized datasets are loosely typed JSON
 * (keyword → value), so they are `NaturalDataset` here and checked where we read them.
 */
declare module 'dcmjs' {
  export type NaturalDataset = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

  export interface DicomDictLike {
    dict: Record<string, unknown>;
    meta: Record<string, unknown>;
    write(options?: Record<string, unknown>): ArrayBuffer;
  }

  export const data: {
    DicomMessage: { readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): DicomDictLike };
    DicomMetaDictionary: {
      naturalizeDataset(dict: Record<string, unknown>): NaturalDataset;
      namifyDataset(dict: Record<string, unknown>): NaturalDataset;
      denaturalizeDataset(ds: NaturalDataset): Record<string, unknown>;
      uid(): string;
      date(): string;
      time(): string;
      sopClassUIDsByName: Record<string, string>;
    };
    datasetToDict(ds: NaturalDataset): DicomDictLike;
  };

  export const normalizers: {
    Normalizer: { normalizeToDataset(datasets: NaturalDataset[]): NaturalDataset | undefined };
  };

  export class SegmentationDerivation {
    constructor(datasets: NaturalDataset[], options?: Record<string, unknown>);
    dataset: NaturalDataset;
    referencedDataset: NaturalDataset;
    setNumberOfFrames(n: number): void;
    addSegmentFromLabelmap(segment: NaturalDataset, labelmaps: ArrayLike<number>[], valueInLabelmap: number, referencedFrameNumbers: number[]): void;
    bitPackPixelData(): void;
  }

  export const derivations: { Segmentation: typeof SegmentationDerivation };

  export const log: { setLevel(level: string): void; getLevel(): number };

  /** dcmjs's structured-report builders (a port of highdicom's): content items are naturalized JSON in class clothing. */
  type SrClass = new (options: Record<string, unknown>) => any; // eslint-disable-line @typescript-eslint/no-explicit-any
  export const sr: {
    coding: { CodedConcept: SrClass };
    valueTypes: Record<
      'CodeContentItem' | 'ContainerContentItem' | 'ImageContentItem' | 'NumContentItem' | 'TextContentItem' | 'UIDRefContentItem',
      SrClass
    > & {
      RelationshipTypes: Record<string, string>;
    };
    contentItems: Record<'FindingSite' | 'SourceSeriesForSegmentation', SrClass>;
    templates: Record<
      | 'AlgorithmIdentification'
      | 'DeviceObserverIdentifyingAttributes'
      | 'LanguageOfContentItemAndDescendants'
      | 'MeasurementReport'
      | 'ObserverContext'
      | 'TrackingIdentifier',
      SrClass
    >;
    documents: { Comprehensive3DSR: SrClass };
  };

  const dcmjs: {
    data: typeof data;
    normalizers: typeof normalizers;
    derivations: typeof derivations;
    log: typeof log;
    sr: typeof sr;
  };
  export default dcmjs;
}
