import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './paths.js';

export function appVersion(): string {
  try {
    return JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')).version as string;
  } catch {
    return '0.0.0';
  }
}
