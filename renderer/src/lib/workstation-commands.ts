import type { RunTaskResult, VolumeRole } from '../../../main/api/types.js';
import type { MenuAction } from '../../../main/api/menu.js';
import { Commands, type Command } from './commands.js';
import type { CompareMode } from './compare.js';

/** What the workstation's commands read and do; the page supplies it, fresh for every call. */
export interface Workbench {
  /** A user action is running (an open, an import): the open commands wait for it. */
  busy: boolean;
  /** The host has native file dialogs (Electron), so there is no separate folder picker. */
  nativeDialogs: boolean;
  hasBase: boolean;
  result: RunTaskResult | null;
  compare: CompareMode;
  /** A file (or a folder, in a native dialog) as the base image, or as an overlay on it. */
  open(role: VolumeRole): void;
  openFolder(): void;
  openSample(): void;
  setCompare(mode: CompareMode): void;
  swap(): void;
}

const idle = (c: Workbench) => !c.busy;
const restored = (c: Workbench) => c.result?.task === 'generate';

function compareWith(mode: CompareMode, label: string): Command<Workbench> {
  return { label, enabled: restored, run: (c) => c.setCompare(mode) };
}

/**
 * Every command of the workstation, by id. The ids are also the Electron menu's actions (app/menu.ts sends
 * "open", "open-overlay", "open-sample"), so a menu entry and its button are the same command.
 */
export const WORKSTATION_COMMANDS = {
  open: { label: 'Open file…', enabled: idle, run: (c) => c.open('image') },
  'open-folder': { label: 'Open DICOM folder…', enabled: (c) => idle(c) && !c.nativeDialogs, run: (c) => c.openFolder() },
  'open-overlay': { label: 'Add overlay…', enabled: (c) => idle(c) && c.hasBase, run: (c) => c.open('label') },
  'open-sample': { label: 'Sample', enabled: idle, run: (c) => c.openSample() },
  'compare-overlay': compareWith('overlay', 'Overlay'),
  'compare-side-by-side': compareWith('side-by-side', 'Side by side'),
  'compare-swap': compareWith('swap', 'Swap'),
  // Swap flips original and restored (entering swap mode first): a blink comparison wants a key.
  swap: { label: 'Swap original and restored', keys: ['KeyX'], enabled: restored, run: (c) => c.swap() },
} satisfies Record<string, Command<Workbench>>;

export type WorkstationCommand = keyof typeof WORKSTATION_COMMANDS;

// Every action the Electron menu can send is a command here (a compile error otherwise).
WORKSTATION_COMMANDS satisfies Record<MenuAction, Command<Workbench>>;

export type WorkstationCommands = Commands<Workbench, typeof WORKSTATION_COMMANDS>;

export function workstationCommands(context: () => Workbench, onError?: (err: unknown) => void): WorkstationCommands {
  return new Commands(WORKSTATION_COMMANDS, context, onError);
}
