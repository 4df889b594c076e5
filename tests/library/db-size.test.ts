import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { DB_FILE, Library } from '../../main/library/index.js';
import { tempDir } from '../helpers/tmp.js';
import { writePair } from './fixtures.js';

/**
 * Measurement, not a threshold: the size of library.db holding 100 pairs (200 distinct volumes,
 * one set, with the audit log of those adds), printed for the closing note. The volumes
 * themselves are files beside it; their size depends only on the images.
 */
test('database size for 100 pairs (printed)', async () => {
  const dir = tempDir('nv-lib-size-');
  const inputs = join(dir, 'in');
  mkdirSync(inputs);
  const lib = await Library.open(join(dir, 'lib'));
  try {
    for (let i = 0; i < 100; i++) {
      const p = await writePair(inputs, 1000 + i, { values: [17, 53] });
      await lib.addPair({
        set: 'hippocampus-3T',
        task: { name: 'hippocampus', labels: [17, 53] },
        scanner: 'Siemens Prisma 3T',
        image: { path: p.image },
        label: { path: p.label },
      });
    }
    expect(lib.requireSet('hippocampus-3T').pairs).toHaveLength(100);
    // Fold the WAL into the main file so the file size is the whole database.
    lib.db.pragma('wal_checkpoint(TRUNCATE)');
    const pages = lib.db.pragma('page_count', { simple: true }) as number;
    const pageSize = lib.db.pragma('page_size', { simple: true }) as number;
    const fileBytes = statSync(join(lib.dir, DB_FILE)).size;
    expect(fileBytes).toBe(pages * pageSize);
    const counts = lib.db.prepare('SELECT (SELECT count(*) FROM volumes) AS volumes, (SELECT count(*) FROM audit_log) AS audit').get();
    console.log(
      `library.db with 100 pairs: ${fileBytes} bytes (${(fileBytes / 1024).toFixed(1)} KiB; ${pages} pages of ${pageSize} B); rows: ${JSON.stringify(counts)}`,
    );
  } finally {
    lib.close();
  }
});
