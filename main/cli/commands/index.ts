import type { CliCommand } from '../command.js';
import { convertCommand } from './convert.js';
import { infoCommand } from './info.js';
import { libraryCommand } from './library.js';

/** The table of sub-commands; add a line here for each new command file. */
export const commands: CliCommand[] = [convertCommand, infoCommand, libraryCommand];
