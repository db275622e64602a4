/**
 * Data the benchmark tasks need, written through the service's own stores (so items have exactly
 * the shape the functions write): accounts, sessions, ready media items with thumbnails.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { newRefreshToken } from '../../../shared/auth/refreshTokens';
import { thumbnailKeys } from '../../../shared/content/keys';
import { newId } from '../../../shared/ids';
import { dynamoMediaStore, type MediaRecord, type ProcessedFields } from '../../../shared/stores/media';
import { dynamoSessionStore } from '../../../shared/stores/sessions';
import { dynamoUserStore, type UserProfile } from '../../../shared/stores/users';
import { pendingMediaRecord } from '../../test/records';
import { TOOLING_CREDENTIALS } from '../../stack/credentials';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
};

/** A document client of its own (not the functions'), so seeding is never counted or timed. */
export function seedingClient(): DynamoDBDocumentClient {
  const client = new DynamoDBClient({ endpoint: env('DYNAMODB_ENDPOINT'), region: env('AWS_REGION'), credentials: TOOLING_CREDENTIALS });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export interface Seeder {
  user(passwordHash: string, label?: string): Promise<UserProfile>;
  session(userId: string): Promise<{ sessionId: string; refreshToken: string }>;
  readyImage(userId: string, overrides?: Partial<MediaRecord>): Promise<MediaRecord>;
  pending(userId: string, overrides?: Partial<MediaRecord>): Promise<MediaRecord>;
}

export function seeder(client: DynamoDBDocumentClient = seedingClient()): Seeder {
  const users = dynamoUserStore(client, env('USERS_TABLE'));
  const sessions = dynamoSessionStore(client, env('SESSIONS_TABLE'));
  const media = dynamoMediaStore(client, env('MEDIA_TABLE'));
  const record = (userId: string, overrides: Partial<MediaRecord>): MediaRecord =>
    pendingMediaRecord(userId, { id: newId(), filename: 'IMG_20240612_181522.jpg', size: 4_718_592, sha256: randomBytes(32).toString('hex'), ...overrides });
  return {
    async user(passwordHash, label = 'bench') {
      const now = new Date().toISOString();
      const profile: UserProfile = { id: newId(), email: `${label}-${randomBytes(6).toString('hex')}@example.org`, name: 'Bench Person', createdAt: now, updatedAt: now, status: 'active' };
      await users.create(profile, passwordHash);
      return profile;
    },
    async session(userId) {
      const sessionId = newId();
      const refresh = newRefreshToken(userId, sessionId);
      const now = new Date();
      await sessions.create({
        id: sessionId,
        userId,
        createdAt: now.toISOString(),
        lastUsedAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + 86_400_000).toISOString(),
        remember: false,
        userAgent: 'bench',
        currentHash: refresh.hash,
        previousHashes: [],
      });
      return { sessionId, refreshToken: refresh.token };
    },
    async readyImage(userId, overrides = {}) {
      const item = record(userId, overrides);
      await media.createPending(item);
      // What processUpload writes for a 12-megapixel phone photo.
      const fields: ProcessedFields = {
        width: 4000,
        height: 3000,
        takenAt: '2024-06-12T18:15:22.000Z',
        camera: { make: 'Google', model: 'Pixel 8' },
        location: { latitude: 48.8584, longitude: 2.2945, altitude: 35 },
        orientation: 1,
        thumbnails: thumbnailKeys(userId, item.id),
        perceptualHash: randomBytes(8).toString('hex'),
        dominantColors: [
          { hex: '#3a5f8c', ratio: 0.41 },
          { hex: '#d9c7a3', ratio: 0.27 },
          { hex: '#2e2b26', ratio: 0.18 },
        ],
      };
      const eTag = `"${randomBytes(16).toString('hex')}"`;
      if (!(await media.markReady(item, fields, eTag, new Date().toISOString()))) throw new Error(`could not mark ${item.id} ready`);
      return { ...item, ...fields, status: 'ready', objectETag: eTag };
    },
    async pending(userId, overrides = {}) {
      const item = record(userId, overrides);
      await media.createPending(item);
      return item;
    },
  };
}
