/**
 * The guards that tie a write to the state of another aggregate, so that a password change or an
 * account deletion racing it cannot leave anything behind (docs/security.md):
 *   - a session is written only while the credentials its login verified are unchanged;
 *   - a media item only while its owner's account is active (not being deleted);
 *   - an analysis job only while its media item is ready and not being deleted.
 * Run against the DynamoDB stores (DynamoDB Local) and against the in-memory fakes wired together.
 */
import { expect } from 'chai';
import { ulid } from 'ulid';
import { pendingMediaRecord } from '../records';
import { MediaNoLongerReady, type AnalysisRecord, type AnalysisStore } from '../../../shared/stores/analyses';
import { OwnerUnavailable, type MediaStore } from '../../../shared/stores/media';
import { CredentialsChanged, type SessionRecord, type SessionStore } from '../../../shared/stores/sessions';
import type { Credentials, UserProfile, UserStore } from '../../../shared/stores/users';

export interface GuardedStores {
  users: UserStore;
  sessions: SessionStore;
  media: MediaStore;
  analyses: AnalysisStore;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

function session(userId: string): SessionRecord {
  const now = new Date();
  return {
    id: ulid(),
    userId,
    createdAt: now.toISOString(),
    lastUsedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + 3600_000).toISOString(),
    remember: false,
    userAgent: 'tests',
    currentHash: 'a'.repeat(64),
    previousHashes: [],
  };
}

function job(userId: string, mediaId: string): AnalysisRecord {
  const now = new Date().toISOString();
  return { id: ulid(), userId, mediaId, status: 'queued', createdAt: now, updatedAt: now, attempts: 0 };
}

export function accountGuardsContract(makeStores: () => Promise<GuardedStores>): void {
  let stores: GuardedStores;
  let user: UserProfile;
  beforeEach(async () => {
    stores = await makeStores();
    const now = new Date().toISOString();
    user = { id: ulid(), email: `${ulid().toLowerCase()}@example.com`, name: 'Guarded', createdAt: now, updatedAt: now, status: 'active' };
    await stores.users.create(user, 'hash-1');
  });

  const verified = async (): Promise<Credentials> => (await stores.users.getCredentials(user.email)) as Credentials;

  it('a session is written while the credentials verified are unchanged', async () => {
    const record = session(user.id);
    await stores.sessions.create(record, await verified());
    expect(await stores.sessions.get(user.id, record.id)).to.deep.equal(record);
  });

  it('a session from credentials verified before a password change is refused (CredentialsChanged), and nothing is written', async () => {
    const before = await verified();
    expect(await stores.users.changePassword(before, 'hash-2')).to.equal(true);
    const record = session(user.id);
    expect(await failure(stores.sessions.create(record, before))).to.be.instanceOf(CredentialsChanged);
    expect(await stores.sessions.get(user.id, record.id)).to.equal(undefined);
    await stores.sessions.create(session(user.id), await verified());
  });

  it('a session from credentials verified before the account deletion began is refused', async () => {
    const before = await verified();
    await stores.users.beginDeletion(user);
    const record = session(user.id);
    expect(await failure(stores.sessions.create(record, before))).to.be.instanceOf(CredentialsChanged);
    expect(await stores.sessions.get(user.id, record.id)).to.equal(undefined);
  });

  it('a media item is written only while its owner is active: refused (OwnerUnavailable) once the deletion began or the account is gone, hash claim included', async () => {
    const first = pendingMediaRecord(user.id);
    await stores.media.createPending(first);
    expect(await stores.media.get(user.id, first.id)).to.include({ id: first.id, status: 'pending' });

    await stores.users.beginDeletion(user);
    const during = pendingMediaRecord(user.id, { sha256: 'c'.repeat(64) });
    expect(await failure(stores.media.createPending(during))).to.be.instanceOf(OwnerUnavailable);
    expect(await stores.media.get(user.id, during.id)).to.equal(undefined);
    await stores.users.deleteProfile(user.id);
    expect(await failure(stores.media.createPending(pendingMediaRecord(user.id)))).to.be.instanceOf(OwnerUnavailable);
    expect(await failure(stores.media.createPending(pendingMediaRecord(ulid()))), 'an account that never existed').to.be.instanceOf(OwnerUnavailable);
    // The hash claim was not written either: after a sign-up with that id the same content is accepted.
    await stores.users.create({ ...user, email: `${ulid().toLowerCase()}@example.com` }, 'hash-1');
    await stores.media.createPending(pendingMediaRecord(user.id, { sha256: 'c'.repeat(64) }));
  });

  it('an analysis job is written only for a ready media item that is not being deleted (MediaNoLongerReady otherwise)', async () => {
    const item = pendingMediaRecord(user.id, { contentType: 'image/png' });
    await stores.media.createPending(item);
    const early = job(user.id, item.id);
    expect(await failure(stores.analyses.create(early)), 'pending').to.be.instanceOf(MediaNoLongerReady);
    expect(await stores.analyses.get(user.id, early.id)).to.equal(undefined);

    expect(await stores.media.markReady(item, { width: 1, height: 1 }, '"etag"', new Date().toISOString())).to.equal(true);
    const ready = job(user.id, item.id);
    await stores.analyses.create(ready);
    expect(await stores.analyses.get(user.id, ready.id)).to.include({ id: ready.id, status: 'queued' });

    await stores.media.beginDelete((await stores.media.get(user.id, item.id)) as NonNullable<Awaited<ReturnType<MediaStore['get']>>>);
    expect(await failure(stores.analyses.create(job(user.id, item.id))), 'being deleted').to.be.instanceOf(MediaNoLongerReady);
    expect(await stores.media.deleteUserData(user.id)).to.equal(1);
    expect(await failure(stores.analyses.create(job(user.id, item.id))), 'gone').to.be.instanceOf(MediaNoLongerReady);
  });
}
