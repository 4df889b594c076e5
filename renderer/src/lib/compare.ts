/**
 * How a generation result (a restored image) is reviewed against the image it was computed from:
 * - overlay: the restored image over the original in a warm colour map, with the opacity slider;
 * - side-by-side: original on the left, restored on the right, two viewers with one crosshair;
 * - swap: one view that shows either of them, flipped with a button or the X key (blink comparison).
 */
export type CompareMode = 'overlay' | 'side-by-side' | 'swap';
