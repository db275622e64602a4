/** Limits the schemas check and the domain keeps (no imports: any bundle may take them for nothing). */

/** At most this many tags on one item. */
export const MAX_TAGS_PER_ITEM = 50;

/** At most this many items in one batch edit. */
export const MAX_BATCH_ITEMS = 500;
