/**
 * The DynamoDB key design, in one place. Every table has a string partition key `pk` and
 * sort key `sk`; items carry a `ttl` (epoch seconds) where DynamoDB should expire them.
 *
 * Users table
 *   USER#<userId>          PROFILE     profile: id, email, name, createdAt, updatedAt, status
 *   EMAIL#<email>          CREDENTIALS login record: userId, passwordHash (the email is unique
 *                                      because this item is created with a condition)
 *   LOGIN#<sha256(email)>  THROTTLE    failed-login counter and lock (ttl)
 *
 * Sessions table
 *   USER#<userId>          SESSION#<sessionId>  one session: refresh-token hashes, expiry (ttl)
 *
 * Connections table (open WebSocket connections, shared/stores/connections.ts)
 *   USER#<userId>          CONNECTION#<connectionId>  one connection: its session, when it opened,
 *                                                     expiry (ttl: API Gateway's 2-hour limit)
 *   CONNECTION#<connectionId>  OWNER                  whose it is ($disconnect knows only the id)
 */
import { createHash } from 'node:crypto';

// A type alias (not an interface) so keys are assignable to the SDK's Record<string, unknown>.
export type Key = { pk: string; sk: string };

export const userKey = (userId: string): Key => ({ pk: `USER#${userId}`, sk: 'PROFILE' });
export const credentialsKey = (email: string): Key => ({ pk: `EMAIL#${email}`, sk: 'CREDENTIALS' });
/** Hashed so that the table holds no list of attempted (possibly mistyped or foreign) emails. */
export const loginThrottleKey = (email: string): Key => ({
  pk: `LOGIN#${createHash('sha256').update(email).digest('hex')}`,
  sk: 'THROTTLE',
});

export const userPartition = (userId: string): string => `USER#${userId}`;
export const sessionKey = (userId: string, sessionId: string): Key => ({ pk: userPartition(userId), sk: `SESSION#${sessionId}` });
export const SESSION_PREFIX = 'SESSION#';
export const CONNECTION_PREFIX = 'CONNECTION#';
export const userConnectionKey = (userId: string, connectionId: string): Key => ({ pk: userPartition(userId), sk: `${CONNECTION_PREFIX}${connectionId}` });
export const connectionOwnerKey = (connectionId: string): Key => ({ pk: `${CONNECTION_PREFIX}${connectionId}`, sk: 'OWNER' });
