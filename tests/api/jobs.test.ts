import { describe, expect, test } from 'vitest';
import { CancelledError } from '../../main/api/errors.js';
import { createWorkstation } from '../../main/api/handlers.js';
import type { ApiEvent } from '../../main/api/types.js';
import { dicomDir, hasSharedData } from '../helpers/shared-data.js';
import { tempDir } from '../helpers/tmp.js';

describe('long jobs', () => {
  test.skipIf(!hasSharedData)('a DICOM import reports progress and can be cancelled', async () => {
    const ws = createWorkstation({ mode: 'headless', version: 'test', dataDir: tempDir() });
    const events: ApiEvent[] = [];
    ws.onEvent((e) => events.push(e));
    const done = ws.openPath(dicomDir('philips-3d-t1-gzipped/In/cl'), { jobId: 'import-1' });
    // Cancel once the first progress event shows the job is under way.
    await new Promise<void>((ok) => {
      const off = ws.onEvent((e) => {
        if (e.type === 'progress' && e.jobId === 'import-1') {
          off();
          ok();
        }
      });
    });
    expect(await ws.api.cancelJob('import-1')).toBe(true);
    await expect(done).rejects.toBeInstanceOf(CancelledError);
    const last = events.filter((e) => e.jobId === 'import-1').at(-1)!;
    expect(last.type).toBe('job-done');
    expect(last.type === 'job-done' && last.ok).toBe(false);
    expect(ws.volumes.list()).toHaveLength(0);
    expect(await ws.api.cancelJob('import-1')).toBe(false);
  });

  test.skipIf(!hasSharedData)('an uncancelled import finishes with fractions rising to 1', async () => {
    const ws = createWorkstation({ mode: 'headless', version: 'test', dataDir: tempDir() });
    const fractions: Record<string, number[]> = { scan: [], parse: [] };
    ws.onEvent((e) => e.type === 'progress' && e.fraction !== null && fractions[e.stage]?.push(e.fraction));
    const r = await ws.openPath(dicomDir('philips-3d-t1-gzipped/In/cl'));
    expect(r.kind).toBe('volume');
    for (const stage of ['scan', 'parse']) {
      expect(fractions[stage].length).toBeGreaterThan(1);
      expect(fractions[stage].at(-1)).toBe(1);
      expect([...fractions[stage]].sort((a, b) => a - b)).toEqual(fractions[stage]);
    }
  });
});
