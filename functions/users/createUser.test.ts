import { expect } from 'chai';
import { badBodies } from '../../local/test/badInput';
import { invoke } from '../../local/test/events';
import { handlerWorld, loadHandler, type HandlerWorld } from '../../local/test/handlers';
import { capturedMetrics } from '../../local/test/metrics';

const valid = { email: 'Ann@Example.com', password: 'correct horse battery', name: 'Ann' };

describe('POST /v1/users (createUser)', () => {
  let world: HandlerWorld;
  let handler: unknown;
  beforeEach(() => {
    world = handlerWorld();
    handler = loadHandler('functions/users/createUser', world);
  });

  it('201 with the profile and a Location; never the password or its hash', async () => {
    const response = await invoke(handler, { method: 'POST', body: valid });
    expect(response.status).to.equal(201);
    expect(response.headers['location']).to.equal('/v1/users/me');
    expect(response.body).to.have.keys(['id', 'email', 'name', 'createdAt']);
    expect(response.body).to.include({ email: 'ann@example.com', name: 'Ann' });
    expect(JSON.stringify(response.body)).not.to.contain('horse');
    expect(world.users.credentials.get('ann@example.com')?.passwordHash).to.equal('fake-hash:correct horse battery');
  });

  it('409 email_taken for an email already registered', async () => {
    await invoke(handler, { method: 'POST', body: valid });
    const response = await invoke<{ error: { code: string } }>(handler, { method: 'POST', body: { ...valid, email: ' ANN@example.com' } });
    expect(response.status).to.equal(409);
    expect(response.body.error.code).to.equal('email_taken');
  });

  it('counts a sign-up (MediaLibrary/SignUps) once the account exists, not a refused one', async () => {
    const emitted = await capturedMetrics(async () => {
      await invoke(handler, { method: 'POST', body: valid });
      await invoke(handler, { method: 'POST', body: valid });
      await invoke(handler, { method: 'POST', body: { ...valid, password: '123' } });
    });
    expect(emitted).to.deep.equal([{ namespace: 'MediaLibrary', name: 'SignUps', value: 1, dimensions: { service: 'media-library' } }]);
  });

  for (const [what, body] of [
    ['a 9-character password', { ...valid, password: '123456789' }],
    ['a 257-character password', { ...valid, password: 'x'.repeat(257) }],
    ['the email as password', { ...valid, password: 'ann@example.com' }],
    ['an invalid email', { ...valid, email: 'ann-at-example' }],
    ['an empty name', { ...valid, name: '   ' }],
    ['a 101-character name', { ...valid, name: 'n'.repeat(101) }],
  ] as const) {
    it(`400 for ${what}`, async () => {
      const response = await invoke<{ error: { code: string } }>(handler, { method: 'POST', body });
      expect(response.status).to.equal(400);
      expect(response.body.error.code).to.equal('validation_failed');
      expect(world.users.profiles.size).to.equal(0);
    });
  }

  for (const bad of badBodies(valid)) {
    it(`${bad.status} ${bad.code} for ${bad.what}`, async () => {
      const response = await invoke<{ error: { code: string } }>(handler, {
        method: 'POST',
        ...(bad.rawBody === undefined ? { body: bad.body } : { rawBody: bad.rawBody }),
        headers: { 'content-type': bad.contentType ?? 'application/json' },
      });
      expect(response.status).to.equal(bad.status);
      expect(response.body.error.code).to.equal(bad.code);
      expect(world.users.profiles.size).to.equal(0);
    });
  }
});
