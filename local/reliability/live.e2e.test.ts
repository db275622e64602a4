/**
 * Live updates under faults: the whole API under serverless-offline with ML_FAULTS making a
 * fraction of pushChanges' Management API calls (PostToConnection, DeleteConnection) fail as API
 * Gateway fails (throttling 429, 5xx, timeouts; shared/aws/faults.ts). Two people each hold several
 * connections and change one item many times; every connection must receive every change of its
 * own person (dropping repeats by id, as the web app does) and nothing of the other person's.
 *
 * - at LIVE_FAULT_RATE (0.2) most faults are absorbed by the SDK's retries;
 * - at 0.5 whole pushes fail: pushChanges hands the change back to the stream, which delivers it
 *   again (a lost delivery recovered), so connections that already had it see it twice, with the
 *   same id (a duplicate delivery, dropped by the client).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { RunningOffline } from '../stack/offline';
import { ApiClient, newAccount } from '../test/http';
import { openLive, protocolsFor, type LiveClient } from '../test/live';
import { upload } from '../test/media';
import { extraOfflineApi } from '../test/stack';
import { ResilientClient } from './resilient';

const RATE = Number(process.env['LIVE_FAULT_RATE'] ?? '0.2');
const EDITS = Number(process.env['LIVE_FAULT_EDITS'] ?? '12');
const FIXTURE = fs.readFileSync(path.resolve(__dirname, '..', 'fixtures', 'media', 'photo-other.jpg'));

interface Person {
  token: string;
  mediaId: string;
  connections: LiveClient[];
  /** The ETag each edit answered: each must arrive as a metadata.updated on every connection. */
  etags: string[];
}

/** What a run started, for afterEach to stop and remove even when the run failed half-way. */
const started: { offlines: RunningOffline[]; folders: string[]; clients: LiveClient[] } = { offlines: [], folders: [], clients: [] };

async function run(rate: number, connectionsEach: number): Promise<{ people: Person[]; faults: number; offline: RunningOffline }> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-live-faults-'));
  started.folders.push(folder);
  const log = path.join(folder, 'faults.jsonl');
  const offline = await extraOfflineApi({ ML_FAULTS: JSON.stringify({ rate, seed: 20261207, services: ['live'], kinds: ['throttle', 'server', 'timeout'], log }) }, { outputLimit: Infinity });
  started.offlines.push(offline);
  const plain = new ApiClient(offline.baseUrl);
  const api = new ResilientClient(plain);
  const people: Person[] = [];
  for (let index = 0; index < 2; index++) {
    const body = newAccount(`live-faults-${index}`);
    await api.call('POST', '/v1/users', { body });
    const session = await api.call<{ accessToken: string }>('POST', '/v1/sessions', { body: { email: body.email, password: body.password } });
    const token = session.body.accessToken;
    const connections = await Promise.all(Array.from({ length: connectionsEach }, () => openLive(offline.liveUrl, protocolsFor(token))));
    started.clients.push(...connections);
    const created = await upload(plain, token, { bytes: FIXTURE, filename: `p${index}.jpg`, contentType: 'image/jpeg' });
    await Promise.all(connections.map((connection) => connection.waitFor('media.ready', (event) => event.media.id === created.media.id, 60_000)));
    people.push({ token, mediaId: created.media.id, connections, etags: [] });
  }
  // Both people edit at once, one edit after another each (every edit bumps the version).
  await Promise.all(
    people.map(async (person) => {
      for (let edit = 0; edit < EDITS; edit++) {
        const answer = await api.call('PATCH', `/v1/media/${person.mediaId}/metadata`, { token: person.token, body: { title: `edit ${edit}` } });
        person.etags.push(answer.headers.get('etag') as string);
      }
    }),
  );
  for (const person of people) {
    const last = person.etags.at(-1) as string;
    await Promise.all(person.connections.map((connection) => connection.waitFor('metadata.updated', (event) => event.etag === last, 60_000)));
  }
  const faults = fs.readFileSync(log, 'utf8').split('\n').filter((line) => line !== '').length;
  return { people, faults, offline };
}

function check(people: Person[]): { duplicates: number; events: number } {
  let duplicates = 0;
  let events = 0;
  for (const [index, person] of people.entries()) {
    const other = people[1 - index] as Person;
    for (const connection of person.connections) {
      expect(connection.malformed).to.deep.equal([]);
      const seen = new Map<string, string>();
      for (const event of connection.events) {
        events += 1;
        const previous = seen.get(event.id);
        if (previous !== undefined) {
          // A repeat is the same event again, never another one under a reused id.
          expect(JSON.stringify({ ...event, receivedAt: 0 })).to.equal(previous);
          duplicates += 1;
        }
        seen.set(event.id, JSON.stringify({ ...event, receivedAt: 0 }));
        const mediaId = event.type === 'media.ready' ? event.media.id : 'mediaId' in event ? event.mediaId : undefined;
        expect(mediaId, `an event of the other person reached a connection: ${JSON.stringify(event)}`).to.not.equal(other.mediaId);
      }
      // Every edit arrived, each ETag once (after dropping repeats).
      const updated = [...seen.values()].map((text) => JSON.parse(text) as { type: string; etag?: string }).filter((event) => event.type === 'metadata.updated');
      expect(updated.map((event) => event.etag).sort()).to.deep.equal([...person.etags].sort());
    }
  }
  return { duplicates, events };
}

describe('live updates under injected faults on the push (PostToConnection)', function () {
  this.timeout(600_000);
  afterEach(async () => {
    await Promise.all(started.clients.splice(0).map((client) => client.close()));
    for (const offline of started.offlines.splice(0)) await offline.stop();
    for (const folder of started.folders.splice(0)) fs.rmSync(folder, { recursive: true, force: true });
  });

  it(`at ${Math.round(RATE * 100)}%: every connection gets every change of its person and nothing else`, async () => {
    const result = await run(RATE, 3);
    const figures = check(result.people);
    console.log(`      (${result.faults} faults injected into the pushes; ${figures.events} events received, ${figures.duplicates} repeats dropped by id)`);
    expect(result.faults, 'faults were injected').to.be.above(0);
  });

  it('at 50%: a push that fails for good is delivered again by the stream (lost, then recovered), and a repeat carries the same id', async () => {
    const result = await run(0.5, 2);
    const figures = check(result.people);
    const redelivered = result.offline.output().split('\n').filter((line) => line.includes('push failed; the stream delivers this change again')).length;
    console.log(`      (${result.faults} faults injected; ${redelivered} changes handed back to the stream; ${figures.duplicates} repeats dropped by id)`);
    expect(redelivered, 'some pushes failed beyond the SDK retries').to.be.above(0);
    expect(figures.duplicates, 'a redelivered change reached connections that already had it').to.be.above(0);
  });
});
