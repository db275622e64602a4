import { HttpError } from '../http/errors';

export class InvalidCursor extends HttpError {
  constructor() {
    super(400, 'invalid_cursor', 'The cursor is not valid for this list; start again without it');
  }
}

type KeyValues = Record<string, string>;

/**
 * Pagination cursors: DynamoDB's LastEvaluatedKey, base64url-encoded. Opaque to clients,
 * and checked on the way back in: exactly the expected attributes, all strings, and the
 * partition must be the caller's own (`accept`), so an edited cursor can never start a
 * Query in another user's data. Anything else is 400 `invalid_cursor`.
 */
export function encodeCursor(lastEvaluatedKey: Record<string, unknown> | undefined): string | null {
  if (lastEvaluatedKey === undefined) return null;
  return Buffer.from(JSON.stringify(lastEvaluatedKey), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined, attributes: readonly string[], accept: (key: KeyValues) => boolean): KeyValues | undefined {
  if (cursor === undefined) return undefined;
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]{1,2048}$/.test(cursor)) throw new Error('not base64url');
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursor();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidCursor();
  const entries = Object.entries(parsed as Record<string, unknown>);
  const names = entries.map(([name]) => name).sort();
  if (JSON.stringify(names) !== JSON.stringify([...attributes].sort())) throw new InvalidCursor();
  if (!entries.every(([, value]) => typeof value === 'string' && value.length > 0 && value.length <= 1024)) throw new InvalidCursor();
  const key = parsed as KeyValues;
  if (!accept(key)) throw new InvalidCursor();
  return key;
}
