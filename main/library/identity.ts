import { createHash } from 'node:crypto';

/**
 * The identity of a context: a digest of its pairs' content hashes (image and label), independent of their
 * order, since the model's result does not depend on the order either (APSP). Two runs with the same identity
 * saw the same examples, whatever the set is called now; a changed pair changes it.
 */
export function contextIdentity(pairs: Array<{ imageSha256: string; labelSha256: string }>): string {
  const lines = pairs.map((p) => `${p.imageSha256}:${p.labelSha256}`).sort();
  return `sha256:${createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16)}`;
}
