import type { OpenResult, SeriesSummary, VolumeInfo, VolumeRole } from '../../../main/api/types.js';
import type { OpenTicket, Session } from './session.js';

/** How an open ended, for the page to act on (the series picker, the error line, the recent list). */
export type Opened =
  | { kind: 'shown'; problems: string[] }
  | { kind: 'choose-series'; pendingId: string; folder: string; series: SeriesSummary[]; role: VolumeRole }
  /** A later open put its own base on screen first; nothing of this one is shown. */
  | { kind: 'overtaken' }
  /** Nothing to show: a cancelled dialog, or no image open in the services. */
  | { kind: 'nothing' };

/**
 * The ways a volume reaches the screen, each under its own ticket taken before the request goes to the
 * services, so the order of the user's clicks decides what is shown, not the order the answers come back in.
 */
export class Opener {
  constructor(
    private readonly session: Session,
    /** Called after each volume is shown (the first frame is reported from there). */
    private readonly afterDraw: () => Promise<void> = async () => {},
  ) {}

  /** What the services hold already: the sample the host opened at start, or the volumes before a reload. */
  restore(list: () => Promise<VolumeInfo[]>): Promise<Opened> {
    return this.session.open(async (t) => {
      const volumes = await list();
      const image = volumes.find((v) => v.role === 'image');
      if (!image) return { kind: 'nothing' };
      return this.showAll(
        t,
        image,
        volumes.filter((v) => v.role !== 'image'),
        [],
      );
    });
  }

  /** The bundled sample: its T1 with the atlas over it. */
  sample(open: () => Promise<VolumeInfo[]>): Promise<Opened> {
    return this.session.open(async (t) => {
      const [t1, labels] = await open();
      return this.showAll(t, t1, [labels], []);
    });
  }

  /** An open of files, a dialog, a recent entry or a picked series, as the services answered it. */
  result(request: () => Promise<OpenResult | null>, role: VolumeRole): Promise<Opened> {
    return this.session.open(async (t) => {
      const r = await request();
      if (!r) return { kind: 'nothing' };
      if (r.kind === 'choose-series') return { ...r, role };
      // A DICOM-SEG comes back as a label volume on an open image, whichever button opened it; with its
      // series (or further SEGs of the same open) it comes in r.overlays.
      const onto = this.session.current.base !== null && (role !== 'image' || r.volume.role === 'label');
      if (onto) return this.addAll(t, [r.volume, ...(r.overlays ?? [])], r.problems ?? []);
      return this.showAll(t, r.volume, r.overlays ?? [], r.problems ?? []);
    });
  }

  /** A scan already open in the services, as the base (a worklist's scan, before its result is shown on it). */
  show(base: VolumeInfo): Promise<Opened> {
    return this.session.open((t) => this.showAll(t, base, [], []));
  }

  private async showAll(t: OpenTicket, base: VolumeInfo, overlays: VolumeInfo[], problems: string[]): Promise<Opened> {
    if (!(await this.session.setBase(t, base))) return { kind: 'overtaken' };
    await this.afterDraw();
    return this.addAll(t, overlays, problems);
  }

  private async addAll(t: OpenTicket, overlays: VolumeInfo[], problems: string[]): Promise<Opened> {
    for (const v of overlays) {
      if (!(await this.session.addOverlay(t, v))) return { kind: 'overtaken' };
      await this.afterDraw();
    }
    return { kind: 'shown', problems };
  }
}
