/**
 * DICOM UIDs (UI value representation, PS3.5 §9): dot-separated components of digits, at most 64 characters.
 * Leading zeros inside a component break the standard but occur in real archives, so they are tolerated;
 * what matters here is that a UID can never be an empty component, "." or "..", since UIDs become folder and
 * file names.
 */
export function isDicomUid(s: unknown): s is string {
  return typeof s === 'string' && s.length <= 64 && /^\d+(\.\d+)*$/.test(s);
}
