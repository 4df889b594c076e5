/** Plain data every layer may hand on. */

/** A file handed over as bytes (drag-and-drop or a file input in the browser host). */
export interface FileBlob {
  /** Name, or the path relative to a dropped folder ("series/IM0001"). */
  name: string;
  data: Uint8Array;
}

/**
 * A file the browser host already holds on disk (its page streamed it there with POST /api/upload): the page sends
 * this in place of the bytes, and the host swaps in the file's contents before the call reaches a service.
 */
export interface UploadedFile {
  name: string;
  /** The id /api/upload answered with. */
  upload: string;
}
