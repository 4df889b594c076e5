import type { VolumeInfo } from '../../../main/api/types.js';

// Apart from viewer.ts (which pulls in NiiVue) so the session store and its tests load without WebGL.

export const OVERLAY_COLORMAPS = ['labels', 'warm', 'hot', 'red', 'green', 'blue', 'winter', 'viridis'] as const;
export type OverlayColormap = (typeof OVERLAY_COLORMAPS)[number];

/** An overlay as the side panel shows it. */
export interface Overlay {
  info: VolumeInfo;
  colormap: OverlayColormap;
  opacity: number;
  visible: boolean;
}
