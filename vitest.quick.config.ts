import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * `npm run test:quick`: the inner loop. The unit tests without the suites that register heads with elastix, run
 * whole-head models or official-size graphs, start a PACS, or fuzz and crash on purpose; those run in `npm test`
 * (and CI) with everything else.
 */
export default mergeConfig(
  base,
  defineConfig({
    test: {
      // The quick loop is mostly single-threaded JavaScript and child tools waiting on each other: two files at a
      // time use both cores (npm test keeps one at a time, where ONNX Runtime's own threads need them).
      fileParallelism: true,
      maxWorkers: 2,
      exclude: [
        'tests/e2e/**',
        'node_modules/**',
        'tests/registration/**',
        'tests/pacs/**',
        'tests/hostile/**',
        'tests/workflow/aligned-run.test.ts',
        'tests/workflow/context-choice.test.ts',
        'tests/workflow/one-orchestration.test.ts',
        'tests/workflow/batch.test.ts',
        'tests/workflow/model-import.test.ts',
        'tests/engine/official-import.test.ts',
        'tests/engine/int8.test.ts',
        'tests/engine/parity.test.ts',
        'tests/imaging/dicom-reference.test.ts',
        'tests/library/crash.test.ts',
        'tests/library/db-size.test.ts',
        // Registration-heavy too: the ICV atlases are registered onto a real head.
        'tests/pipeline/icv.test.ts',
        // Whole CLI runs (the starter install and run, the lesion methods); the units under them stay in.
        'tests/workflow/starter-run.test.ts',
        'tests/lesion/cli-lesion.test.ts',
        'tests/lesion/lesion-set.test.ts',
      ],
    },
  }),
);
