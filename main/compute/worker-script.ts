import { existsSync } from 'node:fs';
import { sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The compiled JavaScript file of a worker entry next to `fromUrl`. Worker threads need JavaScript;
 * when the caller runs from TypeScript sources (the unit tests), the build's copy under dist/ is used.
 */
export function workerScript(fromUrl: string, name: string): URL {
  const beside = new URL(`./${name}.js`, fromUrl);
  if (existsSync(fileURLToPath(beside))) return beside;
  const path = fileURLToPath(beside);
  const at = Math.max(path.lastIndexOf(`${sep}main${sep}`), 0);
  const built = `${path.slice(0, at)}${sep}dist${path.slice(at)}`;
  if (existsSync(built)) return pathToFileURL(built);
  throw new Error(`worker script ${name}.js not found beside ${fileURLToPath(fromUrl)} nor in dist/ (run npm run build)`);
}
