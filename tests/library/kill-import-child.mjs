// Child process for crash.test.ts: imports a bundle with the built library (dist/) and, at the
// requested progress point, announces it on stdout and blocks so the parent can SIGKILL it there.
// Usage: node kill-import-child.mjs <library-dir> <bundle.zip> <phase> <count>
import { writeSync } from 'node:fs';
import { resolve } from 'node:path';

const [libDir, bundle, phase, count] = process.argv.slice(2);
const root = resolve(import.meta.dirname, '../..');
const { Library, importBundle } = await import(resolve(root, 'dist/main/library/index.js'));
const lib = await Library.open(libDir, { user: 'child' });
await importBundle(lib, bundle, {
  onProgress(p, done, total) {
    if (p === phase && done === Number(count)) {
      writeSync(1, `paused ${p} ${done}/${total}\n`);
      // Block synchronously: for 'commit' this is inside the open transaction.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
    }
  },
});
writeSync(1, 'finished\n');
