import { lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import ipaddr from 'ipaddr.js';

/**
 * SSRF guard for callback URLs: a client chooses the URL, our worker POSTs to it from inside
 * our network, so it must never reach a private, link-local or metadata address. Checked when
 * the job is requested (400 for a bad URL) and again at delivery, where the very addresses
 * the connection uses are checked (a DNS answer that changed since, "DNS rebinding", cannot
 * slip through).
 */
export interface CallbackPolicy {
  /** Local stage only: allow `http://` (and https) to loopback addresses, e.g. a test receiver. */
  allowLoopback: boolean;
}

export type AddressVerdict = 'public' | 'loopback' | 'blocked';

const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

/**
 * What an IP address is, by ipaddr.js's table of special-purpose ranges (IANA's IPv4 and IPv6
 * special-purpose registries): only global unicast is public. IPv4 hidden in IPv6 is judged as the
 * IPv4 address (`::ffff:a.b.c.d`, `::a.b.c.d`), and every other IPv6 form that carries or
 * translates to IPv4 (NAT64 64:ff9b::/96 and 64:ff9b:1::/48, 6to4 2002::/16, Teredo, SIIT) is
 * blocked outright: a callback receiver has no reason to live behind a translator.
 */
export function classifyAddress(address: string): AddressVerdict {
  if (isIP(address) === 0) return 'blocked';
  const parsed = ipaddr.process(address);
  const range = parsed.range();
  if (range === 'loopback') return 'loopback';
  // The deprecated IPv4-compatible form ::a.b.c.d, as URL parsers write it (::a9fe:a9fe): the
  // library's table has no entry for ::/96, but it is IPv4 in disguise.
  if (parsed.kind() === 'ipv6' && parsed.match(IPV4_COMPATIBLE)) return 'blocked';
  return range === 'unicast' ? 'public' : 'blocked';
}

export function addressAllowed(address: string, policy: CallbackPolicy): boolean {
  const verdict = classifyAddress(address);
  return verdict === 'public' || (verdict === 'loopback' && policy.allowLoopback);
}

export class CallbackUrlRejected extends Error {
  override readonly name = 'CallbackUrlRejected';
}

export type Resolver = (hostname: string) => Promise<string[]>;

const lookupAll = promisify(dnsLookup);
export const systemResolver: Resolver = async (hostname) =>
  (await lookupAll(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

/** The parsed URL if it may be called back; CallbackUrlRejected (with a reason for the client) if not. */
export async function checkCallbackUrl(raw: string, policy: CallbackPolicy, resolve: Resolver = systemResolver): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CallbackUrlRejected('not a valid absolute URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowLoopback)) {
    throw new CallbackUrlRejected(policy.allowLoopback ? 'only https or http URLs are accepted' : 'only https URLs are accepted');
  }
  if (url.username !== '' || url.password !== '') throw new CallbackUrlRejected('credentials in the URL are not accepted');
  // https: and http: URLs always have a host (the URL parser refuses them without one).
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host) !== 0) {
    addresses = [host];
  } else {
    try {
      addresses = await resolve(host);
    } catch {
      throw new CallbackUrlRejected('the host name does not resolve');
    }
  }
  if (addresses.length === 0) throw new CallbackUrlRejected('the host name does not resolve');
  for (const address of addresses) {
    if (!addressAllowed(address, policy)) throw new CallbackUrlRejected('the host is a private, loopback, link-local or otherwise internal address');
  }
  if (url.protocol === 'http:' && !addresses.every((address) => classifyAddress(address) === 'loopback')) {
    throw new CallbackUrlRejected('plain http is accepted for loopback receivers only');
  }
  return url;
}
