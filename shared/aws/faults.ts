/**
 * Fault injection for the reliability suites (docs/reliability.md): makes a chosen fraction of
 * DynamoDB, S3 and SNS calls fail as the real services fail (throttling, 5xx, timeouts), so the
 * service's handling of them can be tested end to end.
 *
 * Test-only and absent from production: deployable bundles are built without it (a constant
 * defined in local/esbuild.config.cjs removes the call and the module; local/checks/package.test.ts
 * checks every zip). Where it is built in (serverless-offline, in-process tests) it is switched on
 * by the ML_FAULTS environment variable, which only the local stage passes, AND only for a client
 * that talks to a local stand-in (an endpoint setting, which only the local stage has).
 *
 * The fault is raised below the SDK's retry middleware, exactly where a failed HTTP exchange
 * would surface, so the SDK's own retries (maxAttempts 3, standard mode) see it as they would a
 * real one: many faults are absorbed by a retry; those that persist reach our code.
 *
 *   ML_FAULTS='{"rate":0.2,"seed":7,"services":["dynamodb","s3","sns","live"],"kinds":["throttle","server","timeout"],"log":"/tmp/faults.jsonl"}'
 */
import fs from 'node:fs';
import { ConfigurationError } from '../config/env';

/** `live`: the API Gateway Management API the pushes of live updates use (PostToConnection). */
export type FaultService = 'dynamodb' | 's3' | 'sns' | 'live';
export type FaultKind = 'throttle' | 'server' | 'timeout';

export interface FaultSettings {
  /** Fraction of calls that fail, 0–1. */
  rate: number;
  seed: number;
  services: FaultService[];
  kinds: FaultKind[];
  /** A file that gets one JSON line per injected fault (for the suites' figures). */
  log?: string;
}

const SERVICES: FaultService[] = ['dynamodb', 's3', 'sns', 'live'];
const KINDS: FaultKind[] = ['throttle', 'server', 'timeout'];

/** ML_FAULTS parsed and checked; undefined when unset. A malformed value fails loudly. */
export function faultSettings(raw: string | undefined = process.env['ML_FAULTS']): FaultSettings | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  let parsed: Partial<FaultSettings>;
  try {
    parsed = JSON.parse(raw) as Partial<FaultSettings>;
  } catch {
    throw new ConfigurationError('ML_FAULTS must be JSON');
  }
  const rate = parsed.rate;
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) throw new ConfigurationError('ML_FAULTS.rate must be a number in [0, 1]');
  const services = parsed.services ?? SERVICES;
  const kinds = parsed.kinds ?? KINDS;
  if (!Array.isArray(services) || services.some((service) => !SERVICES.includes(service))) throw new ConfigurationError(`ML_FAULTS.services: any of ${SERVICES.join(', ')}`);
  if (!Array.isArray(kinds) || kinds.length === 0 || kinds.some((kind) => !KINDS.includes(kind))) throw new ConfigurationError(`ML_FAULTS.kinds: any of ${KINDS.join(', ')}`);
  return { rate, seed: typeof parsed.seed === 'number' ? parsed.seed : 1, services, kinds, ...(typeof parsed.log === 'string' ? { log: parsed.log } : {}) };
}

/** mulberry32: a small seeded PRNG, so a run's faults can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An error shaped as the SDK shapes the real one, so its retry strategy and our mapping treat it alike. */
export function faultError(service: FaultService, kind: FaultKind, operation: string): Error {
  const error = new Error(`injected ${kind} fault (${service} ${operation})`) as Error & Record<string, unknown>;
  if (kind === 'throttle') {
    error.name = service === 'dynamodb' ? 'ThrottlingException' : service === 's3' ? 'SlowDown' : service === 'live' ? 'LimitExceededException' : 'Throttling';
    error['$fault'] = 'client';
    error['$metadata'] = { httpStatusCode: service === 's3' ? 503 : service === 'live' ? 429 : 400, attempts: 1 };
    error['$retryable'] = { throttling: true };
  } else if (kind === 'server') {
    error.name = service === 's3' ? 'InternalError' : service === 'sns' ? 'InternalErrorException' : service === 'live' ? 'InternalServerErrorException' : 'InternalServerError';
    error['$fault'] = 'server';
    error['$metadata'] = { httpStatusCode: 500, attempts: 1 };
  } else {
    error.name = 'TimeoutError';
    error['code'] = 'ETIMEDOUT';
    error['$metadata'] = { attempts: 1 };
  }
  return error;
}

interface MiddlewareStack {
  add(middleware: unknown, options: { step: 'deserialize'; name: string; priority?: 'low' | 'normal' | 'high' }): void;
}

/**
 * Adds the fault middleware to a client of `service` when ML_FAULTS is set and the client talks
 * to a local stand-in (`endpoint`). Otherwise does nothing: the production path.
 */
export function injectFaults(client: { middlewareStack: MiddlewareStack }, service: FaultService, endpoint: string | undefined, settings = faultSettings()): boolean {
  if (settings === undefined || endpoint === undefined || !settings.services.includes(service)) return false;
  // Each process draws its own sequence: serverless-offline starts a process per function (and
  // more under load), and with one shared sequence every fresh process would fail exactly the
  // same calls. Within one process (the in-process tests) a seed replays exactly.
  const processSalt = [...`${process.env['AWS_LAMBDA_FUNCTION_NAME'] ?? ''}:${process.pid}`].reduce((hash, char) => Math.imul(hash ^ char.charCodeAt(0), 16777619), 2166136261);
  const next = random(settings.seed * 31 + SERVICES.indexOf(service) + processSalt);
  client.middlewareStack.add(
    (handler: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      if (next() >= settings.rate) return handler(args);
      const kind = settings.kinds[Math.floor(next() * settings.kinds.length)] as FaultKind;
      const operation = (context.commandName ?? 'unknown').replace(/Command$/, '');
      if (settings.log !== undefined) fs.appendFileSync(settings.log, `${JSON.stringify({ service, kind, operation })}\n`);
      if (kind === 'timeout') await new Promise((resolve) => setTimeout(resolve, 20));
      throw faultError(service, kind, operation);
    },
    { step: 'deserialize', name: 'mlFaultInjection', priority: 'low' },
  );
  return true;
}
