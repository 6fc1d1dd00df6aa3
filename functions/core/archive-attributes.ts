/**
 * The archive queue message's attributes, apart from the archiver: the provider functions
 * import this alone, so their cold start does not load `node:zlib` (the archiver's gzip,
 * functions/core/archive.ts) — about 2 % of their cold init in a profile (docs/decisions.md §21).
 */

/**
 * The metadata an archive queue message carries as message attributes, beside the
 * `provider` and `type` every envelope carries: what the envelope itself does not hold.
 */
export const ArchiveAttributeNames = ['subject', 'sourceIp', 'requestId'] as const;
export type ArchiveAttributeName = (typeof ArchiveAttributeNames)[number];

/**
 * The archive queue message's attributes for one event: the metadata the envelope does
 * not hold, each only when known (SQS refuses an empty value). Values must already be
 * SQS-safe text (`sqsSafeText`).
 */
export function archiveAttributes(
  metadata: Readonly<Partial<Record<ArchiveAttributeName, string | undefined>>>,
): Partial<Record<ArchiveAttributeName, string>> {
  const attributes: Partial<Record<ArchiveAttributeName, string>> = {};
  for (const name of ArchiveAttributeNames) {
    const value = metadata[name];
    if (value !== undefined && value !== '') attributes[name] = value;
  }
  return attributes;
}
