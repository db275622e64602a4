import { fileTypeFromBuffer } from 'file-type';

/** How many leading bytes the sniffer needs (file-type's own minimum). */
export const SNIFF_BYTES = 4100;

/**
 * The real type of an upload from its first bytes (magic numbers), whatever the client
 * declared. MP4 and QuickTime share the ISO base media format: file-type tells them apart by
 * the `ftyp` brand, and either is accepted for the other (their metadata is read the same way).
 */
export async function sniffType(head: Buffer): Promise<string | undefined> {
  return (await fileTypeFromBuffer(head))?.mime;
}

const ISO_BMFF = new Set(['video/mp4', 'video/quicktime']);

export function typesAgree(declared: string, sniffed: string | undefined): boolean {
  if (sniffed === undefined) return false;
  return declared === sniffed || (ISO_BMFF.has(declared) && ISO_BMFF.has(sniffed));
}
