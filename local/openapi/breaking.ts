/**
 * Breaking changes between the released v1 contract (docs/contract/v1.json) and the current
 * OpenAPI document: what would break a client written against the release.
 *
 * Breaking: a removed path, operation or response code; a removed response field (or one that
 * is no longer always there); a changed type; a narrowed enum; a new required request field,
 * parameter or body; a removed request field or parameter (requests are strict: a client still
 * sending it would get 400); a tighter request limit; authentication added to an open operation.
 * Everything else is an addition and passes.
 */

type Json = Record<string, unknown>;
type Direction = 'request' | 'response';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const asObject = (value: unknown): Json => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {});

function resolve(document: Json, schema: unknown): Json {
  let node = asObject(schema);
  for (let depth = 0; typeof node['$ref'] === 'string' && depth < 20; depth += 1) {
    const pointer = node['$ref'].replace(/^#\//, '').split('/').map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
    let target: unknown = document;
    for (const part of pointer) target = asObject(target)[part];
    node = asObject(target);
  }
  return node;
}

/** A schema with $refs resolved and allOf merged (properties, required and enums combined). */
function flatten(document: Json, schema: unknown): Json {
  const node = { ...resolve(document, schema) };
  const parts = Array.isArray(node['allOf']) ? (node['allOf'] as unknown[]) : [];
  delete node['allOf'];
  let merged: Json = node;
  for (const part of parts) merged = mergeSchemas(merged, flatten(document, part));
  return merged;
}

function mergeSchemas(a: Json, b: Json): Json {
  const result: Json = { ...a, ...b };
  const propertiesA = asObject(a['properties']);
  const propertiesB = asObject(b['properties']);
  if (a['properties'] !== undefined || b['properties'] !== undefined) {
    const properties: Json = { ...propertiesA };
    for (const [name, schema] of Object.entries(propertiesB)) properties[name] = name in propertiesA ? mergeSchemas(asObject(propertiesA[name]), asObject(schema)) : schema;
    result['properties'] = properties;
  }
  if (a['required'] !== undefined || b['required'] !== undefined) result['required'] = [...new Set([...((a['required'] as string[]) ?? []), ...((b['required'] as string[]) ?? [])])];
  // allOf narrows: the effective enum is the one of the more specific part.
  if (Array.isArray(b['enum'])) result['enum'] = b['enum'];
  return result;
}

function typesOf(schema: Json): string[] {
  const type = schema['type'];
  const types = Array.isArray(type) ? (type as string[]) : typeof type === 'string' ? [type] : [];
  if ('const' in schema && types.length === 0) types.push(typeof schema['const'] === 'number' ? 'number' : typeof schema['const']);
  return [...types].map((name) => (name === 'integer' ? 'number' : name)).sort();
}

const TIGHTER: Array<[string, (old: number, current: number) => boolean]> = [
  ['maxLength', (old, current) => current < old],
  ['maxItems', (old, current) => current < old],
  ['maximum', (old, current) => current < old],
  ['minLength', (old, current) => current > old],
  ['minItems', (old, current) => current > old],
  ['minimum', (old, current) => current > old],
];

interface Context {
  oldDocument: Json;
  newDocument: Json;
  problems: string[];
  seen: Set<string>;
}

function compareSchemas(context: Context, oldSchema: unknown, newSchema: unknown, direction: Direction, where: string): void {
  const key = `${direction}|${where}|${JSON.stringify(oldSchema)}|${JSON.stringify(newSchema)}`;
  if (context.seen.has(key)) return;
  context.seen.add(key);
  const old = flatten(context.oldDocument, oldSchema);
  const current = flatten(context.newDocument, newSchema);

  const oldTypes = typesOf(old);
  const newTypes = typesOf(current);
  if (oldTypes.length > 0 && newTypes.length > 0 && oldTypes.join() !== newTypes.join()) {
    context.problems.push(`${where}: type changed from ${oldTypes.join('|')} to ${newTypes.join('|')}`);
    return;
  }
  if (Array.isArray(old['enum'])) {
    const kept = new Set(Array.isArray(current['enum']) ? (current['enum'] as unknown[]) : undefined);
    const removed = Array.isArray(current['enum']) ? (old['enum'] as unknown[]).filter((value) => !kept.has(value)) : [];
    if (removed.length > 0) context.problems.push(`${where}: enum narrowed (removed ${removed.map((value) => JSON.stringify(value)).join(', ')})`);
  } else if (Array.isArray(current['enum']) && direction === 'request') {
    context.problems.push(`${where}: now restricted to ${JSON.stringify(current['enum'])}`);
  }
  if (direction === 'request') {
    for (const [keyword, tighter] of TIGHTER) {
      const before = old[keyword];
      const after = current[keyword];
      if (typeof after === 'number' && (typeof before !== 'number' || tighter(before, after))) context.problems.push(`${where}: ${keyword} tightened from ${typeof before === 'number' ? before : 'none'} to ${after}`);
    }
    if (typeof current['pattern'] === 'string' && current['pattern'] !== old['pattern']) context.problems.push(`${where}: pattern changed to ${String(current['pattern'])}`);
  }

  const oldProperties = asObject(old['properties']);
  const newProperties = asObject(current['properties']);
  const oldRequired = new Set((old['required'] as string[] | undefined) ?? []);
  const newRequired = new Set((current['required'] as string[] | undefined) ?? []);
  for (const [name, schema] of Object.entries(oldProperties)) {
    const field = `${where}.${name}`;
    if (!(name in newProperties)) {
      context.problems.push(direction === 'response' ? `${field}: response field removed` : `${field}: request field removed (clients sending it would get 400)`);
      continue;
    }
    if (direction === 'response' && oldRequired.has(name) && !newRequired.has(name)) context.problems.push(`${field}: response field no longer always present`);
    compareSchemas(context, schema, newProperties[name], direction, field);
  }
  if (direction === 'request') {
    for (const name of newRequired) if (!oldRequired.has(name)) context.problems.push(`${where}.${name}: new required request field`);
  }
  if (old['items'] !== undefined || current['items'] !== undefined) compareSchemas(context, old['items'], current['items'], direction, `${where}[]`);
  for (const keyword of ['anyOf', 'oneOf']) {
    const oldVariants = (old[keyword] as unknown[] | undefined) ?? [];
    const newVariants = (current[keyword] as unknown[] | undefined) ?? [];
    if (direction === 'request' && newVariants.length < oldVariants.length) context.problems.push(`${where}: ${keyword} lost alternatives`);
    oldVariants.forEach((variant, index) => {
      if (index < newVariants.length) compareSchemas(context, variant, newVariants[index], direction, `${where}<${keyword}${index}>`);
    });
  }
}

function parameterMap(document: Json, operation: Json): Map<string, Json> {
  const map = new Map<string, Json>();
  for (const parameter of (operation['parameters'] as unknown[] | undefined) ?? []) {
    const resolved = resolve(document, parameter);
    map.set(`${String(resolved['in'])}:${String(resolved['name'])}`, resolved);
  }
  return map;
}

function jsonSchemaOf(content: unknown): unknown {
  const media = asObject(content);
  const type = Object.keys(media).find((name) => name.includes('json'));
  return type === undefined ? undefined : asObject(media[type])['schema'];
}

/** Every breaking change from `released` to `current`; empty when clients of the release are safe. */
export function breakingChanges(released: Json, current: Json): string[] {
  const context: Context = { oldDocument: released, newDocument: current, problems: [], seen: new Set() };
  const oldPaths = asObject(released['paths']);
  const newPaths = asObject(current['paths']);
  for (const [path, oldItem] of Object.entries(oldPaths)) {
    const newItem = asObject(newPaths[path]);
    if (!(path in newPaths)) {
      context.problems.push(`${path}: path removed`);
      continue;
    }
    for (const method of METHODS.filter((name) => name in asObject(oldItem))) {
      const where = `${method.toUpperCase()} ${path}`;
      const oldOperation = asObject(asObject(oldItem)[method]);
      const newOperation = asObject(newItem[method]);
      if (!(method in newItem)) {
        context.problems.push(`${where}: operation removed`);
        continue;
      }
      const wasOpen = Array.isArray(oldOperation['security']) && (oldOperation['security'] as unknown[]).length === 0;
      const isOpen = Array.isArray(newOperation['security']) && (newOperation['security'] as unknown[]).length === 0;
      if (wasOpen && !isOpen) context.problems.push(`${where}: now requires authentication`);

      const oldParameters = parameterMap(released, oldOperation);
      const newParameters = parameterMap(current, newOperation);
      for (const [key, parameter] of newParameters) {
        const before = oldParameters.get(key);
        if (parameter['required'] === true && before?.['required'] !== true) context.problems.push(`${where}: new required parameter ${key}`);
      }
      for (const [key, parameter] of oldParameters) {
        const after = newParameters.get(key);
        if (after === undefined) context.problems.push(`${where}: parameter ${key} removed (clients sending it would get 400)`);
        else compareSchemas(context, parameter['schema'], after['schema'], 'request', `${where} parameter ${key}`);
      }

      const oldBody = asObject(resolve(released, oldOperation['requestBody']));
      const newBody = asObject(resolve(current, newOperation['requestBody']));
      if (newBody['required'] === true && oldBody['required'] !== true) context.problems.push(`${where}: request body now required`);
      if (oldOperation['requestBody'] !== undefined && newOperation['requestBody'] === undefined) context.problems.push(`${where}: request body no longer accepted`);
      const oldBodySchema = jsonSchemaOf(oldBody['content']);
      const newBodySchema = jsonSchemaOf(newBody['content']);
      if (oldBodySchema !== undefined && newBodySchema !== undefined) compareSchemas(context, oldBodySchema, newBodySchema, 'request', `${where} body`);
      else if (newBodySchema !== undefined && oldBodySchema === undefined) compareSchemas(context, {}, newBodySchema, 'request', `${where} body`);

      const oldResponses = asObject(oldOperation['responses']);
      const newResponses = asObject(newOperation['responses']);
      for (const [status, oldResponse] of Object.entries(oldResponses)) {
        if (!(status in newResponses)) {
          context.problems.push(`${where}: response ${status} removed`);
          continue;
        }
        const oldSchema = jsonSchemaOf(resolve(released, oldResponse)['content']);
        const newSchema = jsonSchemaOf(resolve(current, newResponses[status])['content']);
        if (oldSchema !== undefined && newSchema === undefined) context.problems.push(`${where} → ${status}: JSON body removed`);
        if (oldSchema !== undefined && newSchema !== undefined) compareSchemas(context, oldSchema, newSchema, 'response', `${where} → ${status}`);
      }
    }
  }
  return [...new Set(context.problems)];
}
