import type { CliCommand } from '../command.js';
import { convertCommand } from './convert.js';
import { exportSegCommand } from './export-seg.js';
import { exportSrCommand } from './export-sr.js';
import { infoCommand } from './info.js';
import { pacsCommand } from './pacs.js';
import { libraryCommand } from './library.js';
import { modelCommand } from './model.js';
import { reportCommand } from './report.js';
import { runCommand } from './run.js';
import { batchCommand } from './batch.js';

/** The table of sub-commands; add a line here for each new command file. */
export const commands: CliCommand[] = [
  convertCommand,
  infoCommand,
  exportSegCommand,
  exportSrCommand,
  pacsCommand,
  libraryCommand,
  modelCommand,
  runCommand,
  reportCommand,
  batchCommand,
];
