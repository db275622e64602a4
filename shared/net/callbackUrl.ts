import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { promisify } from 'node:util';

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

const blocked = new BlockList();
const loopback = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['169.254.0.0', 16], // link-local, including the 169.254.169.254 metadata service
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local, including fd00:ec2::254 (EC2 metadata over IPv6)
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** IPv4 hidden in IPv6 (::ffff:a.b.c.d, 64:ff9b::a.b.c.d, ::a.b.c.d) is judged as that IPv4 address. */
function embeddedIpv4(address: string): string | undefined {
  const match = /^(?:::ffff:|64:ff9b::|::)(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (match !== null) return match[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex === null) return undefined;
  const high = parseInt(hex[1] as string, 16);
  const low = parseInt(hex[2] as string, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

export function classifyAddress(address: string): AddressVerdict {
  const family = isIP(address);
  if (family === 0) return 'blocked';
  if (family === 6) {
    const v4 = embeddedIpv4(address);
    if (v4 !== undefined) return classifyAddress(v4);
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (loopback.check(address, type)) return 'loopback';
  if (blocked.check(address, type)) return 'blocked';
  return 'public';
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
