/**
 * Whole requests for one operation: a path parameter, a query, a body with its content type
 * and encoding, headers and a caller, each usually valid and sometimes hostile, so that most
 * requests have one or two things wrong and some get through to the domain code.
 */
import fc from 'fast-check';
import {
  badBase64,
  badJson,
  badLimit,
  cursorArbitrary,
  encoding,
  jsonContentType,
  malformedId,
  mutatedBody,
  otherHeaders,
  otherShapeBody,
  wellFormedString,
  wrongContentType,
  type BodyPlan,
} from './arbitraries';
import type { FuzzRequest } from './invoke';
import type { RouteFuzz } from './routes';
import { A, B } from './world';

export interface Generated {
  request: FuzzRequest;
  /** What is odd about the request, for the figures ('valid' when nothing is). */
  kinds: string[];
  /** The request names one of B's objects (path id, cursor): it must be refused. */
  namesOther: boolean;
}

export interface ListCursors {
  own: string[];
  others: string[];
}

interface Part<T> {
  kind?: string | undefined;
  value: T;
  namesOther?: boolean;
}

const valid = <T>(value: T): Part<T> => ({ value });

function pathPart(route: RouteFuzz): fc.Arbitrary<Part<Record<string, string> | undefined>> {
  const parameter = route.pathParameter;
  if (parameter === undefined) return fc.constant(valid(undefined));
  const own = fc.constantFrom(...parameter.own);
  const named = (id: string): Record<string, string> => ({ [parameter.name]: id });
  const options: Array<fc.WeightedArbitrary<Part<Record<string, string> | undefined>>> = [
    { weight: 6, arbitrary: own.map((id) => valid(named(id))) },
    { weight: 2, arbitrary: fc.constantFrom(...parameter.ownOtherKind).map((id) => ({ kind: "path: A's id of another kind", value: named(id) })) },
    { weight: 4, arbitrary: malformedId(own).map((id) => ({ kind: 'path: malformed', value: named(id) })) },
  ];
  // API Gateway hands over exactly the template's parameters; a handler still must not trip over
  // fewer or more. The docs function serves /docs and /docs/{file}: without `file` it is the page.
  if (!route.op.path.startsWith('/docs/')) {
    options.push(
      { weight: 1, arbitrary: fc.constant({ kind: 'path: missing', value: undefined }) },
      { weight: 1, arbitrary: own.map((id) => ({ kind: 'path: extra parameter', value: { ...named(id), proxy: '../x' } })) },
    );
  }
  if (parameter.other.length > 0) {
    options.push({ weight: 4, arbitrary: fc.constantFrom(...parameter.other).map((id) => ({ kind: "path: B's id", value: named(id), namesOther: true })) });
  }
  return fc.oneof(...options);
}

function queryPart(route: RouteFuzz, cursors: ListCursors | undefined): fc.Arbitrary<Part<Record<string, string> | undefined>[]> {
  const unexpected = fc.dictionary(fc.oneof(fc.constantFrom('limit', 'cursor', 'tag', 'admin', '__proto__', 'constructor'), wellFormedString(12, 1)), wellFormedString(40), { minKeys: 1, maxKeys: 3 });
  if (route.op.query === undefined) {
    return fc.oneof(
      { weight: 8, arbitrary: fc.constant(null).map((): Part<Record<string, string> | undefined>[] => [valid(undefined)]) },
      { weight: 1, arbitrary: unexpected.map((query): Part<Record<string, string> | undefined>[] => [{ kind: 'query: on a route without one', value: query }]) },
    );
  }
  const limit = fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 100 }).map((n) => valid({ limit: String(n) })) },
    { weight: 2, arbitrary: badLimit.map((value) => ({ kind: 'query: bad limit', value: { limit: value } })) },
  );
  const cursor = cursors === undefined ? fc.constant(valid({})) : cursorArbitrary(cursors.own, cursors.others, B.userId, [...Object.values(B.media), B.sessionId, B.otherSessionId]).map(({ kind, cursor: value }) => ({
    ...(kind === 'cursor: own' ? {} : { kind }),
    value: { cursor: value },
    namesOther: kind === "cursor: B's" || kind === 'cursor: forged for B',
  }));
  const filters = route.filters === undefined ? fc.constant(valid({})) : route.filters.map((value) => valid(value));
  return fc
    .record(
      {
        limit,
        cursor,
        filters,
        extra: unexpected.map((value) => ({ kind: 'query: unknown parameter', value })),
      },
      { requiredKeys: [] },
    )
    .map((parts) => {
      const list: Part<Record<string, string> | undefined>[] = Object.values(parts);
      return list.length === 0 ? [valid({})] : list;
    });
}

interface BodyPart {
  plan: BodyPlan | undefined;
}

function bodyPart(route: RouteFuzz): fc.Arbitrary<Part<BodyPart>> {
  if (route.validBody === undefined) {
    const empty = fc.constant<Record<string, unknown>>({});
    return fc.oneof(
      { weight: 14, arbitrary: fc.constant(valid({ plan: undefined })) },
      { weight: 1, arbitrary: fc.constant({ kind: 'body: on a route without one', value: { plan: { kind: 'json', text: '{}' } } }) },
      { weight: 1, arbitrary: otherShapeBody.map((plan) => ({ kind: 'body: on a route without one', value: { plan } })) },
      { weight: 1, arbitrary: badJson(empty).map((plan) => ({ kind: 'body: on a route without one', value: { plan } })) },
    );
  }
  const body = route.validBody;
  const fields = route.bodyFields.length > 0 ? route.bodyFields : ['x'];
  return fc.oneof(
    { weight: 5, arbitrary: body.map((value) => valid({ plan: { kind: 'valid', text: JSON.stringify(value) } })) },
    { weight: 7, arbitrary: mutatedBody(body, fields).map((plan) => ({ kind: plan.kind, value: { plan } })) },
    { weight: 3, arbitrary: badJson(body).map((plan) => ({ kind: plan.kind, value: { plan } })) },
    { weight: 2, arbitrary: otherShapeBody.map((plan) => ({ kind: plan.kind, value: { plan } })) },
    { weight: 1, arbitrary: fc.constant({ kind: route.op.bodyOptional === true ? undefined : 'body: missing', value: { plan: undefined } }) },
  );
}

type ContentTypePlan = { kind?: string; headers: Record<string, string> };

const contentTypePart: fc.Arbitrary<ContentTypePlan> = fc.oneof(
  { weight: 8, arbitrary: jsonContentType.map((value) => ({ headers: { 'content-type': value } })) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('Content-Type', 'CONTENT-TYPE', 'content-Type'), jsonContentType).map(([name, value]) => ({ kind: 'content-type: unusual case', headers: { [name]: value } })) },
  { weight: 2, arbitrary: wrongContentType.map((value) => ({ kind: 'content-type: not JSON', headers: { 'content-type': value } })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'content-type: missing', headers: {} }) },
  {
    weight: 1,
    arbitrary: fc.tuple(jsonContentType, wrongContentType, fc.boolean()).map(([json, wrong, jsonLast]) => ({
      kind: 'content-type: twice, in two cases',
      headers: jsonLast ? { 'Content-Type': wrong, 'content-type': json } : { 'content-type': json, 'Content-Type': wrong },
    })),
  },
);

function callerPart(route: RouteFuzz): fc.Arbitrary<Part<FuzzRequest['caller']>> {
  const a = { userId: A.userId, sessionId: A.sessionId };
  if (route.op.auth === 'none') {
    return fc.oneof({ weight: 12, arbitrary: fc.constant(valid(undefined)) }, { weight: 1, arbitrary: fc.constant({ kind: 'caller: context on a public route', value: a }) });
  }
  return fc.oneof(
    { weight: 30, arbitrary: fc.constant(valid(a)) },
    { weight: 1, arbitrary: fc.constant({ kind: 'caller: none (route wired without the authorizer)', value: undefined }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'caller: empty context', value: { userId: '', sessionId: '' } }) },
  );
}

/** Strings shortened for reports: a counterexample of 100 KB helps nobody. */
export function summary(value: unknown): string {
  return JSON.stringify(value, (_, entry: unknown) => (typeof entry === 'string' && entry.length > 160 ? `${entry.slice(0, 120)}…(${entry.length} chars)` : entry));
}

export function requestArbitrary(route: RouteFuzz, cursors?: ListCursors): fc.Arbitrary<Generated> {
  return fc
    .record({
      path: pathPart(route),
      query: queryPart(route, cursors),
      body: bodyPart(route),
      contentType: contentTypePart,
      encoding,
      badBase64,
      headers: otherHeaders,
      caller: callerPart(route),
    })
    .map((parts) => {
      const kinds: string[] = [];
      const note = (kind: string | undefined): void => {
        if (kind !== undefined) kinds.push(kind);
      };
      note(parts.path.kind);
      parts.query.forEach((part) => note(part.kind));
      note(parts.body.kind);
      note(parts.caller.kind);
      if (parts.headers.kind !== 'headers: usual') note(parts.headers.kind);
      const plan = parts.body.value.plan;
      let body = plan?.text;
      let isBase64Encoded = false;
      let headers = { ...parts.headers.headers };
      if (body !== undefined) {
        note(parts.contentType.kind);
        headers = { ...headers, ...parts.contentType.headers };
        if (parts.encoding === 'base64') {
          body = Buffer.from(body, 'utf8').toString('base64');
          isBase64Encoded = true;
          note('encoding: base64');
        } else if (parts.encoding === 'bad-base64') {
          body = parts.badBase64;
          isBase64Encoded = true;
          note('encoding: bad base64');
        }
      }
      const query = parts.query.reduce<Record<string, string> | undefined>((all, part) => (part.value === undefined ? all : { ...all, ...part.value }), undefined);
      const request: FuzzRequest = {
        method: route.op.method,
        template: route.op.path,
        pathParameters: parts.path.value,
        query: query !== undefined && Object.keys(query).length > 0 ? query : undefined,
        headers,
        body,
        isBase64Encoded,
        caller: parts.caller.value,
      };
      const generated: Generated & { [fc.toStringMethod]: () => string } = {
        request,
        kinds: kinds.length === 0 ? ['valid'] : kinds,
        namesOther: parts.path.namesOther === true || parts.query.some((part) => part.namesOther === true),
        [fc.toStringMethod]: () => summary({ kinds: generated.kinds, request }),
      };
      return generated;
    });
}
