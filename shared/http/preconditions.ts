/** A version as a strong entity tag: `"7"`. */
export const entityTag = (version: number): string => `"${version}"`;

/**
 * The versions an `If-Match` header accepts (RFC 9110 §13.1.1): undefined without the header or
 * for `*` (any current version: the resource must merely exist, which every handler checks).
 * Weak tags (`W/"7"`) never match under the strong comparison If-Match demands, and neither
 * does anything we never issued: those leave the list empty, which nothing matches (412).
 */
export function acceptedVersions(ifMatch: string | undefined): number[] | undefined {
  if (ifMatch === undefined) return undefined;
  const tags = ifMatch.split(',').map((tag) => tag.trim());
  if (tags.includes('*')) return undefined;
  return tags.map((tag) => /^"([1-9]\d{0,14})"$/.exec(tag)?.[1]).filter((version) => version !== undefined).map(Number);
}
