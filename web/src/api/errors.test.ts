import { expect } from 'chai';
import { describeError, NETWORK_ERROR, type ApiErrorBody } from './errors';

const GENERIC = 'Something went wrong on our side. Nothing was lost; please try again.';

describe('web describeError', () => {
  it('turns known codes into sentences, whatever the server says in its message', () => {
    const cases: [number, string, string][] = [
      [401, 'invalid_credentials', 'That email and password do not match an account.'],
      [409, 'email_taken', 'An account with this email already exists. Try signing in.'],
      [409, 'duplicate', 'This file is already in your library.'],
      [404, 'media_not_found', 'This item no longer exists.'],
      [409, 'media_not_ready', 'This item is still being processed.'],
      [412, 'precondition_failed', 'Someone changed this in the meantime.'],
      [429, 'too_many_attempts', 'Too many attempts. Please wait a little and try again.'],
      [503, 'service_unavailable', 'The service is busy right now. Please try again in a moment.'],
    ];
    for (const [status, code, sentence] of cases) {
      expect(describeError(status, { error: { code, message: 'raw server text' } }), code).to.equal(sentence);
    }
  });

  it('names the field of a validation error', () => {
    const body = { error: { code: 'validation_failed', message: 'The request is not valid', details: [{ path: 'body.email', message: 'Invalid email' }, { path: 'body.password', message: 'Too short' }] } };
    expect(describeError(400, body)).to.equal('Email: Invalid email');
    expect(describeError(400, { error: { code: 'validation_failed', details: [{ path: 'title', message: 'Too long' }] } })).to.equal('Title: Too long');
    expect(describeError(400, { error: { code: 'validation_failed', details: [{ path: '', message: 'Expected an object' }] } })).to.equal('Input: Expected an object');
  });

  it('says "not valid" for a validation error without details', () => {
    expect(describeError(400, { error: { code: 'validation_failed', details: [] } })).to.equal('Some of what you entered is not valid.');
  });

  it('answers a server failure or no answer with a generic sentence, never the server text', () => {
    for (const status of [0, 500, 502, 504]) {
      expect(describeError(status, { error: { code: 'internal_error', message: 'TypeError: x is undefined at handler.ts:12' } })).to.equal(GENERIC);
    }
    expect(describeError(500)).to.equal(GENERIC);
    expect(describeError(0, null)).to.equal(GENERIC);
  });

  it('answers known statuses without a known code', () => {
    // What API Gateway itself answers (authorizer, throttling): no error code.
    const gateway = (message: string): ApiErrorBody & { message: string } => ({ message });
    expect(describeError(401, gateway('Unauthorized'))).to.equal('Your session has ended. Please sign in again.');
    expect(describeError(404)).to.equal('Not found: it may have been deleted.');
    expect(describeError(413)).to.equal('This file is too large.');
    expect(describeError(415)).to.contain('photos (JPEG, PNG, WebP, GIF) and videos (MP4, MOV)');
    expect(describeError(429, gateway('Too Many Requests'))).to.equal('Too many attempts. Please wait a little and try again.');
  });

  it("answers an unknown 4xx with the server's message, or a fallback without one", () => {
    expect(describeError(422, { error: { code: 'album_full', message: 'An album holds at most 500 items.' } })).to.equal('An album holds at most 500 items.');
    expect(describeError(400)).to.equal('That did not work. Please try again.');
  });

  it('has words for a network failure', () => {
    expect(NETWORK_ERROR).to.match(/connection/);
  });
});
