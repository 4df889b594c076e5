/** Plain data every layer may hand on. */

/** A file handed over as bytes (drag-and-drop or a file input in the browser host). */
export interface FileBlob {
  /** Name, or the path relative to a dropped folder ("series/IM0001"). */
  name: string;
  data: Uint8Array;
}
