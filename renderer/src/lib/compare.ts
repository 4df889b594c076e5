/**
 * How a generation result (a restored image) is reviewed against the image it was computed from:
 * - overlay: the restored image over the original in a warm colour map, with the opacity slider;
 * - side-by-side: original on the left, restored on the right, two viewers with one crosshair;
 * - swap: one view that shows either of them, flipped with a button or the X key (blink comparison).
 */
export type CompareMode = 'overlay' | 'side-by-side' | 'swap';

/** The swap key, unless the user is typing into a field (a structure list, a set name). */
export function isSwapKey(e: KeyboardEvent): boolean {
  if (e.ctrlKey || e.metaKey || e.altKey || e.code !== 'KeyX') return false;
  const t = e.target as HTMLElement | null;
  return !(t && (t.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA'].includes(t.tagName)));
}
