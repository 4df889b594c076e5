import { join, normalize, resolve, sep } from 'node:path';

/**
 * The file under `root` that a request path names ('/' is index.html), or null when the path would
 * climb out of it. The browser host and the Electron app:// protocol serve the renderer through this
 * one guard, so neither can be talked into reading other files.
 */
export function rendererFile(root: string, pathname: string): string | null {
  const base = resolve(root);
  const rel = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
  const file = resolve(join(base, normalize(rel)));
  return file.startsWith(base + sep) ? file : null;
}
