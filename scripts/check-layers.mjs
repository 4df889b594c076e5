#!/usr/bin/env node
// The dependency rule of main/ (issue 13): a folder may import only folders on lower floors (or its own).
// Run by `npm run check`; prints every import that goes up or sideways across a floor, exits 1 if any.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'main');

/** Floors, lowest first; folders on one floor may not import each other. */
export const FLOORS = [
  ['common'],
  ['util'],
  ['imaging', 'settings', 'jobs'],
  ['engine', 'compute', 'session'],
  ['registration', 'fusion', 'restoration', 'lesion', 'library', 'export'],
  ['pacs', 'pipeline'],
  ['workflow'],
  ['api'],
  ['host', 'cli'],
  ['launcher'],
];
const floorOf = new Map(FLOORS.flatMap((names, i) => names.map((n) => [n, i])));

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

const problems = [];
for (const file of files(root)) {
  const from = relative(root, file).split(sep)[0];
  if (!floorOf.has(from)) {
    problems.push(`${relative(root, file)}: folder "${from}" has no floor in scripts/check-layers.mjs`);
    continue;
  }
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
    const target = relative(root, resolve(dirname(file), m[1])).split(sep)[0];
    if (target === from || target.startsWith('..')) continue;
    const [a, b] = [floorOf.get(from), floorOf.get(target)];
    if (b === undefined || b >= a) problems.push(`main/${relative(root, file)} imports main/${target}/ (floor ${b ?? '?'} ≥ its own ${a}): ${m[1]}`);
  }
}
// The renderer runs sandboxed in a browser: it reaches the services only through the typed API, so of main/ it may
// import main/api (the API's types, errors, codec and renderer-values.ts) and main/common, nothing else.
const rendererRoot = resolve(root, '..', 'renderer', 'src');
const RENDERER_MAY_IMPORT = ['api', 'common'];
function* rendererFiles(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* rendererFiles(p);
    else if (/\.(ts|svelte)$/.test(p)) yield p;
  }
}
let rendererImports = 0;
for (const file of rendererFiles(rendererRoot)) {
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g)) {
    const target = relative(root, resolve(dirname(file), m[1]));
    if (target.startsWith('..')) continue;
    rendererImports++;
    const folder = target.split(sep)[0];
    if (!RENDERER_MAY_IMPORT.includes(folder))
      problems.push(
        `renderer/src/${relative(rendererRoot, file)} imports main/${folder}/ (the renderer may import only main/${RENDERER_MAY_IMPORT.join(', main/')}): ${m[1]}`,
      );
  }
}

if (problems.length) {
  console.error(`layering: ${problems.length} import(s) against the dependency rule\n${problems.join('\n')}`);
  process.exit(1);
}
console.log(`layering: every import in main/ goes down the floors (${FLOORS.map((f) => f.join('/')).join(' < ')})`);
console.log(`layering: the renderer's ${rendererImports} imports of main/ are all of main/${RENDERER_MAY_IMPORT.join(' or main/')}`);
