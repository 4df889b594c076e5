// The benchmark and evaluation scripts (scripts/bench, scripts/eval) are tools, not part of the app: they compile
// to dist-scripts/, which the packaged app leaves out (electron-builder.yml packs dist/ only). They run against the
// app's own build: an import of main/ in a script's source is pointed at dist/main/ in its output, so a script
// measures exactly what `npm run build:node` built. Transpiled file by file (as the preload is); the types are
// checked with everything else by `npm run check` (tsconfig.json includes scripts/).
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, 'dist-scripts');
const appSource = join(root, 'main');
const appBuild = join(root, 'dist', 'main');
const GROUPS = ['bench', 'eval'];

function* sources(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* sources(p);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) yield p;
  }
}

/** `../../main/x.js` seen from `from` (a source file) becomes the path of dist/main/x.js seen from its output `to`. */
function retarget(specifier, from, to) {
  if (!specifier.startsWith('.')) return specifier;
  const target = resolve(dirname(from), specifier);
  if (target !== appSource && !target.startsWith(appSource + sep)) return specifier;
  const rel = relative(dirname(to), join(appBuild, relative(appSource, target)))
    .split(sep)
    .join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

function retargetImports(from, to) {
  return (context) => (file) => {
    const f = context.factory;
    const visit = (node) => {
      if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        const spec = f.createStringLiteral(retarget(node.moduleSpecifier.text, from, to));
        return ts.isImportDeclaration(node)
          ? f.updateImportDeclaration(node, node.modifiers, node.importClause, spec, node.attributes)
          : f.updateExportDeclaration(node, node.modifiers, node.isTypeOnly, node.exportClause, spec, node.attributes);
      }
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments.length && ts.isStringLiteral(node.arguments[0])) {
        const spec = f.createStringLiteral(retarget(node.arguments[0].text, from, to));
        return f.updateCallExpression(node, node.expression, node.typeArguments, [spec, ...node.arguments.slice(1)]);
      }
      return ts.visitEachChild(node, visit, context);
    };
    return ts.visitNode(file, visit);
  };
}

rmSync(out, { recursive: true, force: true });
// Where they compiled before (with the app): a copy left there would run old code against the new build.
rmSync(join(root, 'dist', 'scripts'), { recursive: true, force: true });
let n = 0;
for (const group of GROUPS) {
  for (const src of sources(join(root, 'scripts', group))) {
    const dest = join(out, relative(join(root, 'scripts'), src)).replace(/\.ts$/, '.js');
    const result = ts.transpileModule(readFileSync(src, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023, verbatimModuleSyntax: true, inlineSourceMap: true, inlineSources: true },
      fileName: src,
      transformers: { before: [retargetImports(src, dest)] },
    });
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, result.outputText);
    n++;
  }
}
console.log(`scripts: ${n} files of scripts/{${GROUPS.join(',')}} → ${relative(root, out)}/ (imports of main/ → dist/main/)`);
