import { describe, expect, test } from 'vitest';
import { MENU_ACTIONS } from '../../main/api/menu.js';
import { Commands, keyName, type KeyPress } from '../../renderer/src/lib/commands.js';
import type { CompareMode } from '../../renderer/src/lib/compare.js';
import { workstationCommands, WORKSTATION_COMMANDS, type Workbench } from '../../renderer/src/lib/workstation-commands.js';
import { runResult } from './fake-view.js';

function key(code: string, mods: Partial<KeyPress> = {}): KeyPress & { prevented: boolean } {
  const e = {
    code,
    ctrlKey: false,
    metaKey: false,
    altKey: false,
    shiftKey: false,
    prevented: false,
    preventDefault() {
      e.prevented = true;
    },
    ...mods,
  };
  return e;
}

/** A workbench that records what the commands asked of it. */
function bench(state: Partial<Workbench> = {}) {
  const calls: string[] = [];
  const b: Workbench = {
    busy: false,
    nativeDialogs: false,
    hasBase: false,
    result: null,
    compare: 'overlay',
    open: (role) => void calls.push(`open ${role}`),
    openFolder: () => void calls.push('folder'),
    openSample: () => void calls.push('sample'),
    setCompare: (mode: CompareMode) => void calls.push(`compare ${mode}`),
    swap: () => void calls.push('swap'),
    ...state,
  };
  return { b, calls };
}

describe('the command table', () => {
  test('key names: the physical key with Mod for Ctrl or Cmd, in a fixed order', () => {
    expect(keyName(key('KeyX'))).toBe('KeyX');
    expect(keyName(key('KeyO', { ctrlKey: true, shiftKey: true }))).toBe('Mod+Shift+KeyO');
    expect(keyName(key('KeyO', { metaKey: true }))).toBe('Mod+KeyO');
    expect(keyName(key('Digit1', { altKey: true, shiftKey: true }))).toBe('Alt+Shift+Digit1');
  });

  test('runs by id through the context of the moment; unknown and disabled commands do nothing', () => {
    let on = false;
    const ran: number[] = [];
    const table = new Commands({ go: { label: 'Go', keys: ['KeyG'], enabled: (c: { on: boolean }) => c.on, run: () => void ran.push(1) } }, () => ({ on }));
    expect(table.run('go')).toBe(false);
    expect(table.enabled('go')).toBe(false);
    on = true; // read anew: no rebuild of the table when the state changes
    expect(table.enabled('go')).toBe(true);
    expect(table.run('go')).toBe(true);
    expect(table.run('no-such-command')).toBe(false);
    expect(table.has('go')).toBe(true);
    expect(table.has('toString')).toBe(false); // not a command, however objects spell it
    expect(ran).toEqual([1]);
  });

  test('a key runs its command and is kept from the page; other keys and disabled commands let it through', () => {
    let on = true;
    let runs = 0;
    const table = new Commands({ go: { label: 'Go', keys: ['KeyG', 'Mod+KeyK'], enabled: () => on, run: () => void runs++ } }, () => ({}));
    const g = key('KeyG');
    expect(table.onKey(g)).toBe(true);
    expect(g.prevented).toBe(true);
    expect(table.onKey(key('KeyK', { ctrlKey: true }))).toBe(true);
    const shifted = key('KeyG', { shiftKey: true });
    expect(table.onKey(shifted)).toBe(false);
    expect(shifted.prevented).toBe(false);
    on = false;
    const off = key('KeyG');
    expect(table.onKey(off)).toBe(false);
    expect(off.prevented).toBe(false);
    expect(runs).toBe(2);
  });

  test('plain keys are text while typing in a field; Mod keys still work there', () => {
    const table = new Commands({ a: { label: 'A', keys: ['KeyA'], run: () => {} }, s: { label: 'S', keys: ['Mod+KeyS'], run: () => {} } }, () => ({}));
    for (const tagName of ['INPUT', 'TEXTAREA', 'SELECT']) expect(table.forKey(key('KeyA', { target: { tagName } as unknown as EventTarget }))).toBeNull();
    expect(table.forKey(key('KeyA', { target: { tagName: 'DIV', isContentEditable: true } as unknown as EventTarget }))).toBeNull();
    expect(table.forKey(key('KeyA', { target: { tagName: 'CANVAS' } as unknown as EventTarget }))).toBe('a');
    expect(table.forKey(key('KeyS', { ctrlKey: true, target: { tagName: 'INPUT' } as unknown as EventTarget }))).toBe('s');
  });

  test('one key for two commands is refused when the table is built', () => {
    expect(() => new Commands({ a: { label: 'A', keys: ['KeyX'], run: () => {} }, b: { label: 'B', keys: ['KeyX'], run: () => {} } }, () => ({}))).toThrow(
      /KeyX.*a.*b/,
    );
  });

  test('a failing command reports its error instead of losing it', async () => {
    const errors: unknown[] = [];
    const table = new Commands(
      {
        sync: {
          label: 'S',
          run: () => {
            throw new Error('sync');
          },
        },
        later: {
          label: 'L',
          run: async () => {
            throw new Error('later');
          },
        },
      },
      () => ({}),
      (e) => errors.push(e),
    );
    expect(table.run('sync')).toBe(true);
    expect(table.run('later')).toBe(true);
    await new Promise((r) => setTimeout(r, 0));
    expect(errors.map((e) => (e as Error).message)).toEqual(['sync', 'later']);
  });
});

describe('the workstation commands', () => {
  test('the menu actions of the Electron shell are commands, running what the toolbar runs', () => {
    let state = bench();
    const table = workstationCommands(() => state.b);
    // The shell's own list (app/menu.ts sends only these), not a copy of it.
    for (const action of MENU_ACTIONS) expect(table.has(action), action).toBe(true);
    state = bench({ hasBase: true });
    table.run('open');
    table.run('open-overlay');
    table.run('open-sample');
    table.run('open-folder');
    expect(state.calls).toEqual(['open image', 'open label', 'sample', 'folder']);
  });

  test('opens wait while an action runs; Add overlay needs an image; the folder picker only without native dialogs', () => {
    let state = bench({ busy: true, hasBase: true });
    const table = workstationCommands(() => state.b);
    expect(['open', 'open-folder', 'open-overlay', 'open-sample'].filter((id) => table.run(id))).toEqual([]);
    state = bench();
    expect(table.enabled('open')).toBe(true);
    expect(table.enabled('open-overlay')).toBe(false);
    state = bench({ nativeDialogs: true });
    expect(table.enabled('open-folder')).toBe(false);
    expect(state.calls).toEqual([]);
  });

  test('X swaps original and restored, only with a restored image on screen', () => {
    let state = bench({ result: runResult('r', 'segment') });
    const table = workstationCommands(() => state.b);
    const onSegmentation = key('KeyX');
    expect(table.onKey(onSegmentation)).toBe(false);
    expect(onSegmentation.prevented).toBe(false);
    state = bench({ result: runResult('r', 'generate') });
    expect(table.onKey(key('KeyX'))).toBe(true);
    expect(table.onKey(key('KeyX', { ctrlKey: true }))).toBe(false); // Ctrl+X stays cut
    expect(table.onKey(key('KeyX', { target: { tagName: 'INPUT' } as unknown as EventTarget }))).toBe(false);
    table.run('compare-side-by-side');
    expect(state.calls).toEqual(['swap', 'compare side-by-side']);
  });

  test('every command has a label, and the compare modes are one command each', () => {
    for (const [id, c] of Object.entries(WORKSTATION_COMMANDS)) expect(c.label, id).not.toBe('');
    const state = bench({ result: runResult('r', 'generate') });
    const table = workstationCommands(() => state.b);
    for (const mode of ['overlay', 'side-by-side', 'swap'] as const) table.run(`compare-${mode}`);
    expect(state.calls).toEqual(['compare overlay', 'compare side-by-side', 'compare swap']);
    expect(table.label('open')).toBe('Open file…');
  });
});
