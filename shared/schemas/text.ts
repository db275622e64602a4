import * as z from 'zod/mini';

/**
 * Text as it is stored, and limits checked on exactly that. Normalising after the check lets
 * through what the limit refuses: NFC turns one character into several (U+FB2C becomes three),
 * lower-casing changes lengths too ('İ' becomes two code units). So every text field is
 * normalised first (NFC, trimmed) and then measured.
 *
 * Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) are removed
 * from all text: they make text display as other text ("photo\u202Egpj.exe" reads as
 * "photoexe.jpg"). Where text is a name or an identifier (file names, tags) the direction marks
 * (U+200E, U+200F, U+061C) go too; in titles and descriptions they stay, right-to-left writing
 * uses them.
 */
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/g;
const BIDI_MARKS = /[\u200e\u200f\u061c]/g;

/** Free text (titles, descriptions, display names): NFC, without bidi controls, trimmed. */
export const normalizeText = (value: string): string => value.normalize('NFC').replace(BIDI_CONTROLS, '').trim();

/** A tag as stored and matched: normalised free text, no direction marks, lower case, NFC again (lower-casing can undo it). */
export const normalizeTag = (value: string): string => normalizeText(value).replace(BIDI_MARKS, '').toLowerCase().normalize('NFC');

/** A file name as stored: NFC, without control characters or any bidi control or mark. */
export const normalizeFilename = (value: string): string => value.normalize('NFC').replace(CONTROL_CHARACTERS, '').replace(BIDI_CONTROLS, '').replace(BIDI_MARKS, '').trim();

/** A string normalised by `normalize`, then held to `checks`: the limits apply to what is stored. */
export const normalizedString = (normalize: (value: string) => string, ...checks: Parameters<ReturnType<typeof z.string>['check']>) =>
  z.pipe(z.string().check(z.overwrite(normalize)), z.string().check(...checks));
