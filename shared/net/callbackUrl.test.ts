import { expect } from 'chai';
import sinon from 'sinon';
import { addressAllowed, CallbackUrlRejected, checkCallbackUrl, classifyAddress, type Resolver, systemResolver } from './callbackUrl';

/** A resolver that never touches DNS: fixed answers, anything else does not resolve. */
function stubResolver(answers: Record<string, string[]>): sinon.SinonStub<[string], Promise<string[]>> {
  return sinon.stub<[string], Promise<string[]>>().callsFake((hostname) => {
    const found = answers[hostname];
    return found === undefined ? Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })) : Promise.resolve(found);
  });
}

const answers: Record<string, string[]> = {
  'example.com': ['93.184.216.34'],
  localhost: ['127.0.0.1'],
  'sneaky.example': ['127.0.0.1'],
  'mixed.example': ['93.184.216.34', '10.1.2.3'],
  'mixed6.example': ['2606:2800:220:1:248:1893:25c8:1946', 'fd00:ec2::254'],
  'metadata.example': ['169.254.169.254'],
  'empty.example': [],
};

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

const NO_LOOPBACK = { allowLoopback: false };
const LOOPBACK = { allowLoopback: true };

describe('net/callbackUrl', () => {
  describe('classifyAddress', () => {
    const cases: Array<[string, 'public' | 'loopback' | 'blocked']> = [
      ['8.8.8.8', 'public'],
      ['93.184.216.34', 'public'],
      ['1.1.1.1', 'public'],
      ['172.32.0.1', 'public'],
      ['172.15.255.255', 'public'],
      ['100.128.0.1', 'public'],
      ['2606:4700:4700::1111', 'public'],
      ['2001:4860:4860::8888', 'public'],
      ['127.0.0.1', 'loopback'],
      ['127.5.5.5', 'loopback'],
      ['127.255.255.254', 'loopback'],
      ['::1', 'loopback'],
      ['10.0.0.1', 'blocked'],
      ['10.255.255.255', 'blocked'],
      ['172.16.0.1', 'blocked'],
      ['172.31.255.255', 'blocked'],
      ['192.168.1.1', 'blocked'],
      ['169.254.169.254', 'blocked'],
      ['100.64.0.1', 'blocked'],
      ['0.0.0.0', 'blocked'],
      ['224.0.0.1', 'blocked'],
      ['255.255.255.255', 'blocked'],
      ['fc00::1', 'blocked'],
      ['fd00:ec2::254', 'blocked'],
      ['fe80::1', 'blocked'],
      ['::', 'blocked'],
      ['ff02::1', 'blocked'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:10.0.0.1', 'blocked'],
      ['::ffff:a9fe:a9fe', 'blocked'],
      ['::ffff:7f00:1', 'loopback'],
      ['::ffff:808:808', 'public'],
      ['::ffff:8.8.8.8', 'public'],
      ['64:ff9b::10.0.0.1', 'blocked'],
      ['64:ff9b::a9fe:a9fe', 'blocked'],
      ['::10.0.0.1', 'blocked'],
      // The audit's bypasses: IPv4 embedded or translated in every IPv6 form, and old site-local.
      ['::169.254.169.254', 'blocked'],
      ['::a9fe:a9fe', 'blocked'],
      ['::ffff:0:a9fe:a9fe', 'blocked'],
      ['64:ff9b:1::a9fe:a9fe', 'blocked'],
      ['2002:a9fe:a9fe::1', 'blocked'],
      ['2002:0808:0808::1', 'blocked'],
      ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'blocked'],
      ['fec0::1', 'blocked'],
      ['2001:db8::1', 'blocked'],
      ['100::1', 'blocked'],
      ['2001:10::1', 'blocked'],
      ['0.1.2.3', 'blocked'],
      ['198.18.0.1', 'blocked'],
      ['192.0.0.8', 'blocked'],
      ['240.0.0.1', 'blocked'],
      ['not-an-ip', 'blocked'],
      ['', 'blocked'],
      ['localhost', 'blocked'],
      ['[::1]', 'blocked'],
    ];
    for (const [address, verdict] of cases) {
      it(`${JSON.stringify(address)} is ${verdict}`, () => {
        expect(classifyAddress(address)).to.equal(verdict);
      });
    }
  });

  describe('addressAllowed', () => {
    it('public always; loopback only when the policy allows it; blocked never', () => {
      expect(addressAllowed('8.8.8.8', NO_LOOPBACK)).to.equal(true);
      expect(addressAllowed('8.8.8.8', LOOPBACK)).to.equal(true);
      expect(addressAllowed('127.0.0.1', NO_LOOPBACK)).to.equal(false);
      expect(addressAllowed('127.0.0.1', LOOPBACK)).to.equal(true);
      expect(addressAllowed('::1', LOOPBACK)).to.equal(true);
      expect(addressAllowed('10.0.0.1', LOOPBACK)).to.equal(false);
      expect(addressAllowed('169.254.169.254', LOOPBACK)).to.equal(false);
    });
  });

  describe('checkCallbackUrl', () => {
    async function refused(raw: string, policy: { allowLoopback: boolean }, resolve: Resolver = stubResolver(answers)): Promise<string> {
      const error = await rejection(checkCallbackUrl(raw, policy, resolve));
      expect(error, raw).to.be.instanceOf(CallbackUrlRejected);
      expect(error.name).to.equal('CallbackUrlRejected');
      return error.message;
    }

    it('refuses the audit\'s IPv6 spellings of internal addresses, as URL literals', async () => {
      for (const host of ['[::169.254.169.254]', '[::10.0.0.1]', '[::ffff:0:a9fe:a9fe]', '[64:ff9b:1::a9fe:a9fe]', '[2002:a9fe:a9fe::1]', '[fec0::1]']) {
        expect(await refused(`https://${host}/`, NO_LOOPBACK), host).to.match(/private, loopback, link-local/);
      }
    });

    it('refuses every internal IPv4 address in every IPv6 spelling that embeds or translates it', async () => {
      const hex = (v4: string): [string, string] => {
        const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number];
        return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
      };
      for (const v4 of ['10.0.0.1', '127.0.0.1', '169.254.169.254', '172.16.5.4', '192.168.0.1', '100.64.0.1', '0.0.0.0']) {
        const [high, low] = hex(v4);
        const spellings = [`::${v4}`, `::${high}:${low}`, `::ffff:${v4}`, `::ffff:${high}:${low}`, `::ffff:0:${high}:${low}`, `64:ff9b::${v4}`, `64:ff9b:1::${high}:${low}`, `2002:${high}:${low}::1`];
        for (const spelling of spellings) {
          const error = await rejection(checkCallbackUrl(`https://[${spelling}]/hook`, NO_LOOPBACK, stubResolver({})));
          expect(error, spelling).to.be.instanceOf(CallbackUrlRejected);
        }
      }
    });

    it('refuses internal IP literals', async () => {
      expect(await refused('http://169.254.169.254/', LOOPBACK)).to.match(/private, loopback, link-local/);
      expect(await refused('https://169.254.169.254/latest/meta-data/', NO_LOOPBACK)).to.match(/private, loopback, link-local/);
      expect(await refused('https://10.0.0.1/', NO_LOOPBACK)).to.match(/private/);
      expect(await refused('https://[fd00:ec2::254]/', NO_LOOPBACK)).to.match(/private/);
      expect(await refused('https://[::ffff:a9fe:a9fe]/', LOOPBACK)).to.match(/private/);
    });

    it('refuses schemes other than https', async () => {
      expect(await refused('file:///etc/passwd', NO_LOOPBACK)).to.equal('only https URLs are accepted');
      expect(await refused('ftp://x', NO_LOOPBACK)).to.equal('only https URLs are accepted');
      expect(await refused('javascript:alert(1)', NO_LOOPBACK)).to.equal('only https URLs are accepted');
      expect(await refused('file:///etc/passwd', LOOPBACK)).to.equal('only https or http URLs are accepted');
      expect(await refused('ftp://x', LOOPBACK)).to.equal('only https or http URLs are accepted');
    });

    it('refuses credentials in the URL', async () => {
      expect(await refused('https://user:pass@example.com/', NO_LOOPBACK)).to.equal('credentials in the URL are not accepted');
      expect(await refused('https://user@example.com/', NO_LOOPBACK)).to.equal('credentials in the URL are not accepted');
    });

    it('refuses what is not an absolute URL', async () => {
      expect(await refused('not a url', NO_LOOPBACK)).to.equal('not a valid absolute URL');
      expect(await refused('/relative/path', NO_LOOPBACK)).to.equal('not a valid absolute URL');
      expect(await refused('', NO_LOOPBACK)).to.equal('not a valid absolute URL');
    });

    it('refuses loopback when the policy does not allow it', async () => {
      expect(await refused('https://[::1]/', NO_LOOPBACK)).to.match(/loopback/);
      expect(await refused('https://127.0.0.1/', NO_LOOPBACK)).to.match(/loopback/);
      const resolve = stubResolver(answers);
      expect(await refused('https://localhost/', NO_LOOPBACK, resolve)).to.match(/loopback/);
      expect(await refused('https://sneaky.example/hook', NO_LOOPBACK, resolve)).to.match(/loopback/);
      expect(resolve.args.map(([host]) => host)).to.deep.equal(['localhost', 'sneaky.example']);
    });

    it('refuses a name when any of its addresses is internal', async () => {
      expect(await refused('https://mixed.example/', NO_LOOPBACK)).to.match(/private/);
      expect(await refused('https://mixed.example/', LOOPBACK)).to.match(/private/);
      expect(await refused('https://mixed6.example/', NO_LOOPBACK)).to.match(/private/);
      expect(await refused('https://metadata.example/', LOOPBACK)).to.match(/private/);
    });

    it('refuses a name that does not resolve', async () => {
      expect(await refused('https://nowhere.example/', NO_LOOPBACK)).to.equal('the host name does not resolve');
      expect(await refused('https://empty.example/', NO_LOOPBACK)).to.equal('the host name does not resolve');
    });

    it('refuses plain http without the loopback policy, and for non-loopback receivers with it', async () => {
      const resolve = stubResolver(answers);
      expect(await refused('http://example.com', NO_LOOPBACK, resolve)).to.equal('only https URLs are accepted');
      expect(resolve.called).to.equal(false);
      expect(await refused('http://example.com', LOOPBACK, resolve)).to.equal('plain http is accepted for loopback receivers only');
      expect(await refused('http://8.8.8.8/x', LOOPBACK, resolve)).to.equal('plain http is accepted for loopback receivers only');
    });

    it('accepts public https URLs', async () => {
      const resolve = stubResolver(answers);
      const url = await checkCallbackUrl('https://example.com/hook', NO_LOOPBACK, resolve);
      expect(url).to.be.instanceOf(URL);
      expect(url.href).to.equal('https://example.com/hook');
      expect(resolve.calledOnceWithExactly('example.com')).to.equal(true);

      const literal = await checkCallbackUrl('https://8.8.8.8/x', NO_LOOPBACK, resolve);
      expect(literal.href).to.equal('https://8.8.8.8/x');
      // An IP literal is not looked up.
      expect(resolve.callCount).to.equal(1);

      expect((await checkCallbackUrl('https://example.com/hook', LOOPBACK, resolve)).href).to.equal('https://example.com/hook');
    });

    it('with allowLoopback, accepts http to loopback receivers', async () => {
      const resolve = stubResolver(answers);
      expect((await checkCallbackUrl('http://127.0.0.1:9999/x', LOOPBACK, resolve)).href).to.equal('http://127.0.0.1:9999/x');
      expect((await checkCallbackUrl('http://localhost:9999/', LOOPBACK, resolve)).href).to.equal('http://localhost:9999/');
      expect((await checkCallbackUrl('http://[::1]:9999/', LOOPBACK, resolve)).href).to.equal('http://[::1]:9999/');
      expect((await checkCallbackUrl('https://localhost:9999/', LOOPBACK, resolve)).href).to.equal('https://localhost:9999/');
    });
  });

  describe('checkCallbackUrl with the default resolver', () => {
    it('asks the system resolver: localhost is refused as loopback, and accepted where loopback is allowed', async () => {
      const error = await rejection(checkCallbackUrl('https://localhost/hook', NO_LOOPBACK));
      expect(error).to.be.instanceOf(CallbackUrlRejected);
      expect(error.message).to.match(/loopback/);
      expect((await checkCallbackUrl('http://localhost:9999/hook', LOOPBACK)).href).to.equal('http://localhost:9999/hook');
    });
  });

  describe('systemResolver', () => {
    it('resolves localhost (no network needed) to loopback addresses', async () => {
      const addresses = await systemResolver('localhost');
      expect(addresses).to.not.be.empty;
      for (const address of addresses) expect(classifyAddress(address), address).to.equal('loopback');
    });
  });
});
