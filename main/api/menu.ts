/**
 * The Electron menu's actions: the shell sends one of these ids over IPC and the renderer runs the command of
 * the same id (renderer/src/lib/workstation-commands.ts, which the compiler holds to this list), so a menu
 * entry, its toolbar button and its key are one command.
 */
export const MENU_ACTIONS = ['open', 'open-overlay', 'open-sample'] as const;
export type MenuAction = (typeof MENU_ACTIONS)[number];
