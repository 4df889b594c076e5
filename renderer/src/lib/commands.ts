/** A key press as the table reads it (a KeyboardEvent has all of this). */
export interface KeyPress {
  code: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
  target?: EventTarget | null;
  preventDefault?(): void;
}

export interface Command<C> {
  /** What a button or a menu shows. */
  label: string;
  /**
   * Keys that run it, as `keyName` writes them: "KeyX", "Mod+Shift+KeyO" (Mod: Ctrl, or Cmd on a Mac).
   * By KeyboardEvent.code, so a shortcut stays on the same key whatever the keyboard layout.
   */
  keys?: readonly string[];
  /** Whether it can run now; a disabled command ignores its key and its menu entry, and greys its button. */
  enabled?(c: C): boolean;
  run(c: C): unknown;
}

export type CommandDefinitions<C> = Record<string, Command<C>>;

/** The name of a key press in the form `Command.keys` uses. */
export function keyName(e: KeyPress): string {
  return [e.ctrlKey || e.metaKey ? 'Mod' : '', e.altKey ? 'Alt' : '', e.shiftKey ? 'Shift' : '', e.code].filter(Boolean).join('+');
}

/** A key without Ctrl or Cmd is text while the user types into a field (a structure list, a set name). */
function typing(e: KeyPress): boolean {
  if (e.ctrlKey || e.metaKey) return false;
  const t = e.target as { isContentEditable?: boolean; tagName?: string } | null | undefined;
  return Boolean(t && (t.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA'].includes(t.tagName ?? '')));
}

/**
 * The one table the menu, the buttons and the keyboard run commands through, so each action is written
 * once and is enabled or not in one place. The context is read anew on every call, so `enabled` in a
 * Svelte template follows the state it reads.
 */
export class Commands<C, D extends CommandDefinitions<C> = CommandDefinitions<C>> {
  private readonly byKey = new Map<string, keyof D & string>();

  constructor(
    readonly definitions: D,
    private readonly context: () => C,
    /** Where a command's failure goes (a menu or a key has no caller to hand it back to). */
    private readonly onError: (err: unknown) => void = (err) => console.error(err),
  ) {
    for (const [id, def] of Object.entries(definitions)) {
      for (const key of def.keys ?? []) {
        const other = this.byKey.get(key);
        if (other) throw new Error(`key ${key} is bound to both ${other} and ${id}`);
        this.byKey.set(key, id);
      }
    }
  }

  has(id: string): id is keyof D & string {
    return Object.hasOwn(this.definitions, id);
  }

  enabled(id: keyof D & string): boolean {
    return this.definitions[id].enabled?.(this.context()) ?? true;
  }

  label(id: keyof D & string): string {
    return this.definitions[id].label;
  }

  /** Runs a command by id (a menu action arrives as a plain string); false when unknown or disabled. */
  run(id: string): boolean {
    if (!this.has(id) || !this.enabled(id)) return false;
    try {
      const done = this.definitions[id].run(this.context());
      if (done instanceof Promise) done.catch(this.onError);
    } catch (err) {
      this.onError(err);
    }
    return true;
  }

  /** The command a key press would run, whether or not it is enabled now. */
  forKey(e: KeyPress): (keyof D & string) | null {
    if (typing(e)) return null;
    return this.byKey.get(keyName(e)) ?? null;
  }

  /** For a window's keydown: runs the key's command and keeps the key from the page when it did. */
  onKey(e: KeyPress): boolean {
    const id = this.forKey(e);
    if (!id || !this.run(id)) return false;
    e.preventDefault?.();
    return true;
  }
}
