import { expect } from 'chai';
import { leastPrivilege, matchesPattern, UNEXERCISED_LOCALLY } from './leastPrivilege';
import type { FunctionRole } from './roles';

const role = (name: string, statements: Array<Record<string, unknown>>): FunctionRole => ({
  name,
  functionName: `svc-${name}`,
  roleName: `svc-${name}-role`,
  roleArn: `arn:aws:iam::1:role/svc-${name}-role`,
  sessionArn: `arn:aws:sts::1:assumed-role/svc-${name}-role/svc-${name}`,
  policies: [{ name: 'p', document: { Statement: statements } }],
});

describe('least privilege from evidence (local/gateway/leastPrivilege)', () => {
  it("matches resources with IAM's globs", () => {
    expect(matchesPattern('arn:aws:s3:::b/media/*', 'arn:aws:s3:::b/media/u/m/original')).to.equal(true);
    expect(matchesPattern('arn:aws:s3:::b/media/*', 'arn:aws:s3:::b/other')).to.equal(false);
    expect(matchesPattern('arn:aws:dynamodb:r:1:table/t', 'arn:aws:dynamodb:r:1:table/t/index/x')).to.equal(false);
    expect(matchesPattern('a?c', 'abc')).to.equal(true);
    expect(matchesPattern('a.c', 'abc'), 'dots are literal').to.equal(false);
  });

  it('sorts every grant into used, excused with its reason, and unused', () => {
    const roles = [
      role('one', [
        { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem'], Resource: 'arn:aws:dynamodb:r:1:table/t' },
        { Effect: 'Allow', Action: ['logs:PutLogEvents'], Resource: ['arn:logs'] },
        { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/media/*' },
        { Effect: 'Deny', Action: 's3:DeleteObject', Resource: '*' },
      ]),
      role('two', [{ Effect: 'Allow', Action: ['dynamodb:GetItem'], Resource: 'arn:aws:dynamodb:r:1:table/t' }]),
    ];
    const report = leastPrivilege(roles, [
      { fn: 'one', action: 'dynamodb:GetItem', resource: 'arn:aws:dynamodb:r:1:table/t' },
      { fn: 'one', action: 's3:GetObject', resource: 'arn:aws:s3:::b/media/u/x' },
      // Another function's use does not count for this one.
      { fn: 'one', action: 'dynamodb:GetItem', resource: 'arn:aws:dynamodb:r:1:table/other' },
    ]);
    expect(report.exercised.map((grant) => `${grant.fn} ${grant.action}`)).to.deep.equal(['one dynamodb:GetItem', 'one s3:GetObject']);
    expect(report.excused.map((grant) => `${grant.fn} ${grant.action}`)).to.deep.equal(['one logs:PutLogEvents']);
    expect(report.unused.map((grant) => `${grant.fn} ${grant.action}`)).to.deep.equal(['one dynamodb:PutItem', 'two dynamodb:GetItem']);
  });

  it('every excuse says why the permission is needed although no local run can use it', () => {
    for (const entry of UNEXERCISED_LOCALLY) expect(entry.reason.length, entry.action).to.be.greaterThan(40);
  });
});
