import { InputError } from '../common/errors.js';
import type { PairFiles } from '../registration/types.js';
import { flagAll, type ParsedArgs } from './args.js';

/** `--icv-atlas <image>,<intracranial mask>` (repeatable), as `report` and `batch` take it. */
export function icvAtlasFlags(args: ParsedArgs): PairFiles[] {
  return flagAll(args, 'icv-atlas').map((a) => {
    const [imageFile, labelFile, ...rest] = a.split(',');
    if (!imageFile || !labelFile || rest.length) throw new InputError(undefined, `--icv-atlas ${a}: expected <image>,<intracranial mask>`, 'usage');
    return { imageFile, labelFile };
  });
}
