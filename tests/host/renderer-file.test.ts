import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { rendererFile } from '../../main/host/renderer-file.js';

// The guard both renderer transports (browser host, Electron app:// protocol) serve files through.
describe('rendererFile', () => {
  const root = resolve('/srv/renderer');

  test('names files under the renderer folder; / is index.html', () => {
    expect(rendererFile(root, '/')).toBe(join(root, 'index.html'));
    expect(rendererFile(root, '/assets/app%20main.js')).toBe(join(root, 'assets', 'app main.js'));
    expect(rendererFile(`${root}/`, '//assets/x.css')).toBe(join(root, 'assets', 'x.css'));
  });

  test('refuses paths that climb out, however spelled, and the folder itself', () => {
    for (const p of ['/../package.json', '/assets/../../secret', '/..%2f..%2fetc/passwd', '/%2e%2e/x', '/.', '/renderer/../../renderer-other/x']) {
      expect(rendererFile(root, p), p).toBeNull();
    }
    expect(rendererFile(root, '/../renderer-evil/index.html')).toBeNull();
  });
});
