import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null | undefined;

/**
 * Each context-branch call returns its five pair means as fresh JS ArrayBuffers (≈ 341 MB at 128³ for the
 * official model; onnxruntime-node copies outputs even into pre-allocated fetches). V8 frees them only when it
 * next collects, and at 128³ several mini-contexts' worth piled up: peak RSS grew 30 % from L = 1 to L = 4.
 * A full collection after each merge (milliseconds, against seconds per mini-context) keeps memory flat in L.
 * `--expose-gc` is switched on at run time because the app and CLI cannot choose Node's command line.
 */
export function collectGarbage(): void {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    } catch {
      gc = null;
    }
  }
  gc?.();
}
