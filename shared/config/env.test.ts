import { expect } from 'chai';
import { ConfigurationError, listEnv, optionalEnv, requireEnv, requireIntEnv } from './env';

describe('shared/config/env', () => {
  const names = ['ML_TEST_A', 'ML_TEST_B'];
  afterEach(() => names.forEach((name) => delete process.env[name]));

  it('requireEnv returns the value and fails loudly, naming the variable, when it is missing or blank', () => {
    process.env['ML_TEST_A'] = 'media-table';
    expect(requireEnv('ML_TEST_A')).to.equal('media-table');
    expect(() => requireEnv('ML_TEST_B')).to.throw(ConfigurationError, 'ML_TEST_B');
    process.env['ML_TEST_B'] = '  ';
    expect(() => requireEnv('ML_TEST_B')).to.throw(ConfigurationError, 'ML_TEST_B');
  });

  it('optionalEnv treats empty strings as unset (AWS stages get empty endpoint values)', () => {
    process.env['ML_TEST_A'] = '';
    expect(optionalEnv('ML_TEST_A')).to.equal(undefined);
    expect(optionalEnv('ML_TEST_B')).to.equal(undefined);
    process.env['ML_TEST_A'] = 'http://127.0.0.1:8000';
    expect(optionalEnv('ML_TEST_A')).to.equal('http://127.0.0.1:8000');
  });

  it('requireIntEnv accepts integers within bounds only', () => {
    process.env['ML_TEST_A'] = '900';
    expect(requireIntEnv('ML_TEST_A', { min: 60, max: 3600 })).to.equal(900);
    process.env['ML_TEST_A'] = '15.5';
    expect(() => requireIntEnv('ML_TEST_A')).to.throw(ConfigurationError, 'must be an integer');
    process.env['ML_TEST_A'] = '10';
    expect(() => requireIntEnv('ML_TEST_A', { min: 60 })).to.throw(ConfigurationError, '[60,');
    process.env['ML_TEST_A'] = 'abc';
    expect(() => requireIntEnv('ML_TEST_A')).to.throw(ConfigurationError);
  });

  it('listEnv splits comma lists and drops blanks', () => {
    process.env['ML_TEST_A'] = 'https://a.example, https://b.example,,';
    expect(listEnv('ML_TEST_A')).to.deep.equal(['https://a.example', 'https://b.example']);
    expect(listEnv('ML_TEST_B')).to.deep.equal([]);
  });
});
