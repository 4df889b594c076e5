// The preload runs in Electron's sandbox, which loads only CommonJS scripts: compile it on its own.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import ts from 'typescript';

const src = readFileSync(new URL('../../app/preload.ts', import.meta.url), 'utf8');
const out = ts.transpileModule(src, {
  compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, strict: true },
  fileName: 'preload.ts',
});
mkdirSync(new URL('../../dist/app/', import.meta.url), { recursive: true });
writeFileSync(new URL('../../dist/app/preload.cjs', import.meta.url), out.outputText);
