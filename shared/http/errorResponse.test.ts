import { expect } from 'chai';
import { NotFound, ServiceUnavailable, ValidationFailed } from './errors';
import { isDependencyFailure, toErrorResponse } from './errorResponse';

describe('shared/http/errorResponse', () => {
  describe('isDependencyFailure', () => {
    const cases: Array<[string, unknown, boolean]> = [
      ['DynamoDB throttling', { name: 'ProvisionedThroughputExceededException' }, true],
      ['S3 SlowDown', { name: 'SlowDown' }, true],
      ['an SDK error marked retryable', { name: 'Whatever', $retryable: {} }, true],
      ['a 5xx from any AWS service', { name: 'InternalError', $metadata: { httpStatusCode: 502 } }, true],
      ['a refused connection', Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }), true],
      ['an SDK timeout', { name: 'TimeoutError' }, true],
      ['a conditional check failure (our logic, not the dependency)', { name: 'ConditionalCheckFailedException', $metadata: { httpStatusCode: 400 } }, false],
      ['a programming error', new TypeError('x is undefined'), false],
      ['a thrown string', 'boom', false],
      ['null', null, false],
    ];
    for (const [what, error, expected] of cases) {
      it(`${expected ? 'is' : 'is not'} ${what}`, () => expect(isDependencyFailure(error)).to.equal(expected));
    }
  });

  describe('toErrorResponse', () => {
    it('keeps code, message and details of typed 4xx errors, without a request id', () => {
      const response = toErrorResponse(new ValidationFailed([{ path: 'body.email', message: 'Invalid email' }]), 'r1');
      expect(response).to.deep.equal({
        status: 400,
        headers: undefined,
        body: { error: { code: 'validation_failed', message: 'The request is not valid', details: [{ path: 'body.email', message: 'Invalid email' }] } },
      });
      expect(toErrorResponse(new NotFound(), 'r1').body?.error).to.deep.equal({ code: 'not_found', message: 'The resource does not exist' });
    });

    it('adds the request id and Retry-After to 503s', () => {
      const response = toErrorResponse(new ServiceUnavailable(2.2), 'r2');
      expect(response.status).to.equal(503);
      expect(response.headers).to.deep.equal({ 'retry-after': '3' });
      expect(response.body?.error.requestId).to.equal('r2');
    });

    it('turns anything else into a generic 500 that reveals nothing', () => {
      const response = toErrorResponse(new Error('SELECT * FROM users'), 'r3');
      expect(response.status).to.equal(500);
      expect(JSON.stringify(response.body)).not.to.contain('SELECT');
      expect(response.body?.error.code).to.equal('internal_error');
    });
  });
});
