/**
 * Offline CloudFormation template validator.
 *
 * Checks a template (already parsed from JSON or YAML, intrinsic functions in their long
 * form: `{ Ref }`, `{ 'Fn::GetAtt': ... }`) against the CloudFormation resource
 * specification shipped in the npm package `@aws-cdk/aws-service-spec`: the same database
 * the AWS CDK generates its L1 constructs from, so it knows every resource type, property,
 * nested type and attribute. No network and no AWS account are involved.
 *
 * What is checked, in order:
 *  1. the top level: known sections only, `Resources` present and non-empty, the shape of
 *     `Parameters`, `Conditions` and `Outputs` entries;
 *  2. each resource: a known `Type`, known resource attributes (`Properties`, `DependsOn`, ...),
 *     and its `Properties` type-checked recursively against the specification (unknown
 *     property names, missing required properties, wrong value types);
 *  3. references, wherever they occur (resource properties, metadata and policies, outputs,
 *     conditions): `Ref`, `Fn::GetAtt` (including the attribute name), `${...}` in `Fn::Sub`,
 *     `DependsOn`, `Condition` and `Fn::If` condition names, `Fn::FindInMap` map names.
 *
 * What is deliberately NOT checked: string enums (`allowedValues`) and value patterns (the
 * specification lags behind new service options, so such checks would reject valid
 * templates), what an intrinsic function evaluates to (any intrinsic is accepted where a
 * scalar is expected), and the `Rules` section. A template with a `Transform` is checked
 * as written, before the macro runs.
 *
 * Usage: `validateTemplate(template)` returns the list of issues; an empty list means valid.
 */
import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';
import type { Property, PropertyType, Resource, ResourceProperties, SpecDatabase } from '@aws-cdk/service-spec-types';

export interface ValidationIssue {
  /** Where the problem is, e.g. `Resources.Bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0]`. */
  path: string;
  message: string;
}

// ---------------------------------------------------------------------------------------------
// The specification database: loading it parses a large JSON file (about half a second), so it
// is loaded on first use only, once per process, and resource look-ups are memoised.

let database: SpecDatabase | undefined;
const resourceSpecs = new Map<string, Resource | undefined>();
let resourceTypeNames: string[] | undefined;

function specDatabase(): SpecDatabase {
  database ??= loadAwsServiceSpecSync();
  return database;
}

/** The specification of a resource type (`AWS::S3::Bucket`), or undefined if there is none. */
function resourceSpec(cloudFormationType: string): Resource | undefined {
  if (!resourceSpecs.has(cloudFormationType)) {
    const [found] = specDatabase().lookup('resource', 'cloudFormationType', 'equals', cloudFormationType);
    resourceSpecs.set(cloudFormationType, found);
  }
  return resourceSpecs.get(cloudFormationType);
}

function allResourceTypeNames(): string[] {
  resourceTypeNames ??= specDatabase()
    .all('resource')
    .map((resource) => resource.cloudFormationType);
  return resourceTypeNames;
}

// ---------------------------------------------------------------------------------------------
// Template vocabulary (from the CloudFormation User Guide).

const TOP_LEVEL_SECTIONS = new Set([
  'AWSTemplateFormatVersion',
  'Description',
  'Metadata',
  'Parameters',
  'Mappings',
  'Conditions',
  'Transform',
  'Rules',
  'Resources',
  'Outputs',
]);

const RESOURCE_ATTRIBUTES = new Set([
  'Type',
  'Properties',
  'DependsOn',
  'Condition',
  'DeletionPolicy',
  'UpdateReplacePolicy',
  'Metadata',
  'CreationPolicy',
  'UpdatePolicy',
]);

const PARAMETER_KEYS = new Set([
  'Type',
  'Default',
  'Description',
  'AllowedValues',
  'AllowedPattern',
  'ConstraintDescription',
  'MinLength',
  'MaxLength',
  'MinValue',
  'MaxValue',
  'NoEcho',
]);

const OUTPUT_KEYS = new Set(['Description', 'Value', 'Export', 'Condition']);

const DELETION_POLICIES = new Set(['Delete', 'Retain', 'RetainExceptOnCreate', 'Snapshot']);
const UPDATE_REPLACE_POLICIES = new Set(['Delete', 'Retain', 'Snapshot']);

const PSEUDO_PARAMETERS = new Set([
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
]);

/** Every intrinsic and condition function; an object with one of these as its only key is a function call. */
const INTRINSIC_FUNCTIONS = new Set([
  'Ref',
  'Fn::GetAtt',
  'Fn::Join',
  'Fn::Sub',
  'Fn::If',
  'Fn::Select',
  'Fn::Split',
  'Fn::ImportValue',
  'Fn::GetAZs',
  'Fn::Base64',
  'Fn::FindInMap',
  'Fn::Cidr',
  'Fn::Equals',
  'Fn::And',
  'Fn::Or',
  'Fn::Not',
  'Fn::Length',
  'Fn::ToJsonString',
  'Fn::Transform',
]);

/** Functions that are valid as a whole entry of `Conditions`. */
const CONDITION_FUNCTIONS = new Set(['Fn::Equals', 'Fn::And', 'Fn::Or', 'Fn::Not', 'Condition']);

/**
 * Functions that can yield a list, so are accepted where the specification wants an array.
 * (`Fn::If` is too, but its branches are checked instead; `Ref` and `Fn::GetAtt` only when
 * what they name is a list: see `yieldsList`.) `Fn::FindInMap` because mapping values may be
 * lists, `Fn::Transform` because a macro may return anything.
 */
const LIST_FUNCTIONS = new Set(['Fn::Split', 'Fn::GetAZs', 'Fn::Cidr', 'Fn::FindInMap', 'Fn::Transform']);

/** Tags in the old specification's `tag` type: `{ Key, Value }`, both required strings. */
const TAG_PROPERTIES: ResourceProperties = {
  Key: { type: { type: 'string' }, required: true },
  Value: { type: { type: 'string' }, required: true },
};

// ---------------------------------------------------------------------------------------------
// Small helpers.

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `Array.isArray` that narrows to `unknown[]` rather than `any[]`. */
function isArray(value: unknown): value is unknown[] {
  return Array.isArray(value);
}

function has(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

/** The function name if `value` is an intrinsic function call (`{ 'Fn::Join': [...] }`), else undefined. */
function intrinsicName(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  const keys = Object.keys(value);
  const [key] = keys;
  if (keys.length !== 1 || key === undefined) return undefined;
  return key === 'Ref' || key.startsWith('Fn::') ? key : undefined;
}

function isNoValue(value: unknown): boolean {
  return isObject(value) && intrinsicName(value) === 'Ref' && value['Ref'] === 'AWS::NoValue';
}

function child(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function item(path: string, index: number): string {
  return `${path}[${index}]`;
}

/** A short description of a value for messages: `the string "yes"`, `an object`, `Fn::Join`. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `the ${typeof value} ${String(value)}`;
  const fn = intrinsicName(value);
  if (fn !== undefined) return fn;
  return isObject(value) ? 'an object' : typeof value;
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** ` (did you mean "X"?)` for the closest candidate within a few edits (or equal ignoring case), else ''. */
function suggestion(name: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 4)) + 1;
  for (const candidate of candidates) {
    const distance = candidate.toLowerCase() === name.toLowerCase() ? 0 : levenshtein(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

const issue = (path: string, message: string): ValidationIssue => ({ path, message });

// ---------------------------------------------------------------------------------------------
// What the template declares: the names that references may point at.

interface DeclaredResource {
  type: string | undefined;
  /** Undefined for custom resources, unknown types and types provided by a transform. */
  spec: Resource | undefined;
  /** Any `Fn::GetAtt` attribute is accepted: custom resources, transform-provided or unknown types. */
  anyAttribute: boolean;
}

interface TemplateIndex {
  resources: Map<string, DeclaredResource>;
  /** Parameter name to its `Type` (`String`, `List<AWS::EC2::Subnet::Id>`, ...). */
  parameters: Map<string, string>;
  conditions: Set<string>;
  mappings: Map<string, unknown>;
  transforms: Set<string>;
}

function isCustomResourceType(type: string): boolean {
  return type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource';
}

function indexTemplate(template: JsonObject): TemplateIndex {
  const resources = new Map<string, DeclaredResource>();
  for (const [name, resource] of Object.entries(isObject(template['Resources']) ? template['Resources'] : {})) {
    const type = isObject(resource) && typeof resource['Type'] === 'string' ? resource['Type'] : undefined;
    const spec = type === undefined || isCustomResourceType(type) ? undefined : resourceSpec(type);
    resources.set(name, { type, spec, anyAttribute: spec === undefined || spec.cloudFormationTransform !== undefined });
  }
  const parameters = new Map<string, string>();
  for (const [name, parameter] of Object.entries(isObject(template['Parameters']) ? template['Parameters'] : {})) {
    parameters.set(name, isObject(parameter) && typeof parameter['Type'] === 'string' ? parameter['Type'] : '');
  }
  const transform = template['Transform'];
  const transforms = new Set((isArray(transform) ? transform : [transform]).filter((t): t is string => typeof t === 'string'));
  return {
    resources,
    parameters,
    conditions: new Set(Object.keys(isObject(template['Conditions']) ? template['Conditions'] : {})),
    mappings: new Map(Object.entries(isObject(template['Mappings']) ? template['Mappings'] : {})),
    transforms,
  };
}

// ---------------------------------------------------------------------------------------------
// Entry point.

/** Validates a parsed CloudFormation template; returns the issues found (none: valid). */
export function validateTemplate(template: unknown): ValidationIssue[] {
  if (!isObject(template)) return [issue('', `a template must be an object, got ${describe(template)}`)];
  const index = indexTemplate(template);
  return [
    ...checkTopLevel(template),
    ...checkParameters(template['Parameters']),
    ...checkConditionsSection(template['Conditions'], index),
    ...Object.entries(isObject(template['Resources']) ? template['Resources'] : {}).flatMap(([name, resource]) =>
      checkResource(name, resource, index),
    ),
    ...checkOutputs(template['Outputs'], index),
  ];
}

// ---------------------------------------------------------------------------------------------
// 1. Top level, Parameters, Conditions, Outputs.

function checkTopLevel(template: JsonObject): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const section of Object.keys(template)) {
    if (!TOP_LEVEL_SECTIONS.has(section)) {
      issues.push(issue(section, `unknown top-level section "${section}"${suggestion(section, TOP_LEVEL_SECTIONS)}`));
    }
  }
  const version = template['AWSTemplateFormatVersion'];
  if (version !== undefined && version !== '2010-09-09') {
    issues.push(issue('AWSTemplateFormatVersion', `the only template format version is "2010-09-09", got ${describe(version)}`));
  }
  const resources = template['Resources'];
  if (resources === undefined) issues.push(issue('Resources', 'a template needs a Resources section'));
  else if (!isObject(resources)) issues.push(issue('Resources', `Resources must be an object, got ${describe(resources)}`));
  else if (Object.keys(resources).length === 0) issues.push(issue('Resources', 'Resources must declare at least one resource'));
  for (const section of ['Parameters', 'Mappings', 'Conditions', 'Outputs', 'Metadata', 'Rules']) {
    const value = template[section];
    if (value !== undefined && !isObject(value)) issues.push(issue(section, `${section} must be an object, got ${describe(value)}`));
  }
  // Logical IDs share one namespace: a parameter and a resource cannot have the same name.
  if (isObject(resources) && isObject(template['Parameters'])) {
    for (const name of Object.keys(template['Parameters'])) {
      if (has(resources, name)) issues.push(issue(`Parameters.${name}`, `"${name}" is both a parameter and a resource`));
    }
  }
  return issues;
}

function checkParameters(parameters: unknown): ValidationIssue[] {
  if (!isObject(parameters)) return [];
  const issues: ValidationIssue[] = [];
  for (const [name, parameter] of Object.entries(parameters)) {
    const path = `Parameters.${name}`;
    if (!/^[A-Za-z0-9]+$/.test(name)) issues.push(issue(path, 'a parameter name must be alphanumeric'));
    if (!isObject(parameter)) {
      issues.push(issue(path, `a parameter must be an object, got ${describe(parameter)}`));
      continue;
    }
    if (typeof parameter['Type'] !== 'string') issues.push(issue(child(path, 'Type'), 'a parameter needs a Type'));
    for (const key of Object.keys(parameter)) {
      if (!PARAMETER_KEYS.has(key)) issues.push(issue(child(path, key), `unknown parameter attribute "${key}"${suggestion(key, PARAMETER_KEYS)}`));
    }
  }
  return issues;
}

function checkConditionsSection(conditions: unknown, index: TemplateIndex): ValidationIssue[] {
  if (!isObject(conditions)) return [];
  const issues: ValidationIssue[] = [];
  for (const [name, condition] of Object.entries(conditions)) {
    const path = `Conditions.${name}`;
    const keys = isObject(condition) ? Object.keys(condition) : [];
    const [fn] = keys;
    if (keys.length !== 1 || fn === undefined || !CONDITION_FUNCTIONS.has(fn)) {
      issues.push(issue(path, `a condition must be one of Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition, got ${describe(condition)}`));
    }
    issues.push(...checkReferences(condition, path, index, 'conditions'));
  }
  return issues;
}

function checkOutputs(outputs: unknown, index: TemplateIndex): ValidationIssue[] {
  if (!isObject(outputs)) return [];
  const issues: ValidationIssue[] = [];
  for (const [name, output] of Object.entries(outputs)) {
    const path = `Outputs.${name}`;
    if (!/^[A-Za-z0-9]+$/.test(name)) issues.push(issue(path, 'an output name must be alphanumeric'));
    if (!isObject(output)) {
      issues.push(issue(path, `an output must be an object, got ${describe(output)}`));
      continue;
    }
    for (const key of Object.keys(output)) {
      if (!OUTPUT_KEYS.has(key)) issues.push(issue(child(path, key), `unknown output attribute "${key}"${suggestion(key, OUTPUT_KEYS)}`));
    }
    if (output['Value'] === undefined || output['Value'] === null) issues.push(issue(child(path, 'Value'), 'an output needs a Value'));
    const exported = output['Export'];
    if (exported !== undefined && (!isObject(exported) || exported['Name'] === undefined || exported['Name'] === null)) {
      issues.push(issue(child(path, 'Export'), 'Export needs a Name'));
    }
    if (output['Condition'] !== undefined) issues.push(...checkConditionName(output['Condition'], child(path, 'Condition'), index));
    issues.push(...checkReferences(output['Value'], child(path, 'Value'), index, 'anywhere'));
    issues.push(...checkReferences(exported, child(path, 'Export'), index, 'anywhere'));
  }
  return issues;
}

// ---------------------------------------------------------------------------------------------
// 2. Resources.

function checkResource(name: string, resource: unknown, index: TemplateIndex): ValidationIssue[] {
  const path = `Resources.${name}`;
  if (!isObject(resource)) return [issue(path, `a resource must be an object, got ${describe(resource)}`)];
  const issues: ValidationIssue[] = [];
  if (!/^[A-Za-z0-9]+$/.test(name)) issues.push(issue(path, 'a logical ID must be alphanumeric (A-Za-z0-9)'));
  for (const key of Object.keys(resource)) {
    if (!RESOURCE_ATTRIBUTES.has(key)) {
      issues.push(issue(child(path, key), `unknown resource attribute "${key}"${suggestion(key, RESOURCE_ATTRIBUTES)}`));
    }
  }

  // DependsOn, Condition and the policies are checked whatever the type.
  issues.push(...checkDependsOn(name, resource['DependsOn'], child(path, 'DependsOn'), index));
  if (resource['Condition'] !== undefined) issues.push(...checkConditionName(resource['Condition'], child(path, 'Condition'), index));
  for (const [attribute, allowed] of [
    ['DeletionPolicy', DELETION_POLICIES],
    ['UpdateReplacePolicy', UPDATE_REPLACE_POLICIES],
  ] as const) {
    const policy = resource[attribute];
    if (policy !== undefined && intrinsicName(policy) === undefined && (typeof policy !== 'string' || !allowed.has(policy))) {
      issues.push(issue(child(path, attribute), `${attribute} must be one of ${[...allowed].join(', ')}, got ${describe(policy)}`));
    }
  }
  // References anywhere in the resource (properties, cfn-init metadata, creation/update policies).
  for (const key of ['Properties', 'Metadata', 'CreationPolicy', 'UpdatePolicy']) {
    issues.push(...checkReferences(resource[key], child(path, key), index, 'anywhere'));
  }

  const type = resource['Type'];
  const propertiesPath = child(path, 'Properties');
  // No Properties is an empty set of properties (required ones are then reported); null is an error.
  const properties = resource['Properties'] === undefined ? {} : resource['Properties'];
  if (typeof type !== 'string') {
    issues.push(issue(child(path, 'Type'), type === undefined ? 'a resource needs a Type' : `Type must be a string, got ${describe(type)}`));
    return issues;
  }
  if (isCustomResourceType(type)) {
    // Custom resources take whatever properties their provider understands; CloudFormation
    // itself only needs to know where to send the request.
    if (isObject(properties) && intrinsicName(properties) === undefined && !has(properties, 'ServiceToken')) {
      issues.push(issue(child(propertiesPath, 'ServiceToken'), 'a custom resource needs a ServiceToken'));
    }
    return issues;
  }
  const spec = resourceSpec(type);
  if (spec === undefined) {
    issues.push(issue(child(path, 'Type'), `unknown resource type "${type}"${suggestion(type, allResourceTypeNames())}`));
    return issues;
  }
  if (spec.cloudFormationTransform !== undefined && !index.transforms.has(spec.cloudFormationTransform)) {
    issues.push(issue(child(path, 'Type'), `${type} needs "Transform: ${spec.cloudFormationTransform}"`));
  }
  issues.push(...new TypeChecker(index).checkObject(properties, spec.properties, type, propertiesPath));
  return issues;
}

function checkDependsOn(name: string, dependsOn: unknown, path: string, index: TemplateIndex): ValidationIssue[] {
  if (dependsOn === undefined) return [];
  const targets: Array<[unknown, string]> = isArray(dependsOn)
    ? dependsOn.map((target, i): [unknown, string] => [target, item(path, i)])
    : [[dependsOn, path]];
  return targets.flatMap(([target, targetPath]) => {
    if (typeof target !== 'string') return [issue(targetPath, `DependsOn takes resource names, got ${describe(target)}`)];
    if (target === name) return [issue(targetPath, `${name} depends on itself`)];
    if (!index.resources.has(target)) {
      return [issue(targetPath, `DependsOn names "${target}", which is not a resource of this template${suggestion(target, index.resources.keys())}`)];
    }
    return [];
  });
}

function checkConditionName(condition: unknown, path: string, index: TemplateIndex): ValidationIssue[] {
  if (typeof condition !== 'string') return [issue(path, `a condition name must be a string, got ${describe(condition)}`)];
  if (!index.conditions.has(condition)) {
    return [issue(path, `unknown condition "${condition}" (not in Conditions)${suggestion(condition, index.conditions)}`)];
  }
  return [];
}

/**
 * Type-checks property values against the specification. Every method returns the issues it
 * found instead of recording them, so that a union type can try each of its members and keep
 * the first that fits.
 */
class TypeChecker {
  constructor(private readonly index: TemplateIndex) {}

  checkValue(value: unknown, type: PropertyType, path: string): ValidationIssue[] {
    // `{ Ref: AWS::NoValue }` removes the property: valid wherever a value may go.
    if (isNoValue(value)) return [];
    const fn = intrinsicName(value);
    // Both branches of a condition must fit the expected type.
    if (fn === 'Fn::If') return this.checkIf(value, path, (branch, branchPath) => this.checkValue(branch, type, branchPath));
    // CloudFormation rejects null anywhere in Properties (e.g. an empty YAML value).
    if (value === null && type.type !== 'null') return [issue(path, `null is not a valid value (expected ${this.typeName(type)})`)];

    switch (type.type) {
      case 'string':
      case 'date-time':
        // CloudFormation turns numbers and booleans into strings (`Port: 5432`).
        return fn !== undefined || ['string', 'number', 'boolean'].includes(typeof value) ? [] : this.mismatch(value, type, path);
      case 'integer':
        return fn !== undefined ||
          (typeof value === 'number' && Number.isInteger(value)) ||
          (typeof value === 'string' && /^[+-]?\d+$/.test(value.trim()))
          ? []
          : this.mismatch(value, type, path);
      case 'number':
        return fn !== undefined ||
          (typeof value === 'number' && Number.isFinite(value)) ||
          (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
          ? []
          : this.mismatch(value, type, path);
      case 'boolean':
        return fn !== undefined || typeof value === 'boolean' || value === 'true' || value === 'false' ? [] : this.mismatch(value, type, path);
      case 'null':
        return value === null || fn !== undefined ? [] : this.mismatch(value, type, path);
      case 'json':
        // Free-form (policy documents, ...): any shape. References inside are still checked.
        return [];
      case 'tag':
        return this.checkObject(value, TAG_PROPERTIES, 'Tag', path);
      case 'ref': {
        const definition = specDatabase().get('typeDefinition', type.reference);
        return this.checkObject(value, definition.properties, definition.name, path);
      }
      case 'array':
        if (fn !== undefined) {
          return this.yieldsList(value, fn) ? [] : [issue(path, `expected ${this.typeName(type)}, got ${fn}, which does not yield a list`)];
        }
        if (!isArray(value)) return this.mismatch(value, type, path);
        return value.flatMap((element, i) => this.checkValue(element, type.element, item(path, i)));
      case 'map':
        if (fn === 'Fn::Transform') return [];
        if (!isObject(value) || fn !== undefined) return this.mismatch(value, type, path);
        return Object.entries(value).flatMap(([key, element]) => this.checkValue(element, type.element, child(path, key)));
      case 'union':
        return this.checkUnion(value, type.types, path);
    }
  }

  /**
   * An object with the given properties: a resource's `Properties` or a type definition.
   * Reports unknown property names, missing required ones, and checks each value.
   */
  checkObject(value: unknown, properties: ResourceProperties, typeName: string, path: string): ValidationIssue[] {
    if (isNoValue(value)) return [];
    const fn = intrinsicName(value);
    if (fn === 'Fn::If') return this.checkIf(value, path, (branch, branchPath) => this.checkObject(branch, properties, typeName, branchPath));
    // A macro may return anything; nothing else yields an object of properties.
    if (fn === 'Fn::Transform') return [];
    if (!isObject(value) || fn !== undefined) return [issue(path, `expected an object (${typeName}), got ${describe(value)}`)];
    const known = Object.keys(properties);
    // A handful of type definitions in the specification declare no properties at all: their
    // shape is unknown, so anything is accepted.
    if (known.length === 0) return [];

    const issues: ValidationIssue[] = [];
    for (const [name, propertyValue] of Object.entries(value)) {
      const property: Property | undefined = has(properties, name) ? properties[name] : undefined;
      if (property === undefined) {
        issues.push(issue(child(path, name), `unknown property "${name}" for ${typeName}${suggestion(name, known)}`));
      } else {
        issues.push(...this.checkValue(propertyValue, property.type, child(path, name)));
      }
    }
    for (const [name, property] of Object.entries(properties)) {
      if (property.required === true && !has(value, name)) {
        issues.push(issue(child(path, name), `missing required property "${name}" of ${typeName}`));
      }
    }
    return issues;
  }

  /** `Fn::If: [condition, whenTrue, whenFalse]`: both branches checked (the condition name is checked with the references). */
  private checkIf(value: unknown, path: string, checkBranch: (branch: unknown, path: string) => ValidationIssue[]): ValidationIssue[] {
    const args = isObject(value) ? value['Fn::If'] : undefined;
    const ifPath = child(path, 'Fn::If');
    if (!isArray(args) || args.length !== 3) return [issue(ifPath, 'Fn::If takes [condition name, value if true, value if false]')];
    return [...checkBranch(args[1], item(ifPath, 1)), ...checkBranch(args[2], item(ifPath, 2))];
  }

  /** A union fits if any member fits; otherwise the issues of the member that came closest. */
  private checkUnion(value: unknown, members: PropertyType[], path: string): ValidationIssue[] {
    let best: ValidationIssue[] | undefined;
    let bestScore = Infinity;
    for (const member of members) {
      const issues = this.checkValue(value, member, path);
      if (issues.length === 0) return [];
      // A member whose issues are all deeper inside the value has the right shape: prefer it.
      const score = (issues.some((found) => found.path === path) ? 1_000_000 : 0) + issues.length;
      if (score < bestScore) {
        best = issues;
        bestScore = score;
      }
    }
    if (best === undefined || bestScore >= 1_000_000) {
      return [issue(path, `expected ${members.map((member) => this.typeName(member)).join(' or ')}, got ${describe(value)}`)];
    }
    return best;
  }

  /** Whether an intrinsic function call can evaluate to a list (accepted where an array is expected). */
  private yieldsList(value: unknown, fn: string): boolean {
    if (LIST_FUNCTIONS.has(fn)) return true;
    const arg = isObject(value) ? value[fn] : undefined;
    if (fn === 'Ref') {
      if (arg === 'AWS::NotificationARNs') return true;
      // List<...>, CommaDelimitedList and their SSM parameter variants.
      return typeof arg === 'string' && /List/.test(this.index.parameters.get(arg) ?? '');
    }
    if (fn === 'Fn::GetAtt') {
      const [resourceName, attribute] = splitGetAtt(arg) ?? [];
      const resource = resourceName === undefined ? undefined : this.index.resources.get(resourceName);
      // Unknown targets are reported by the reference checks; don't pile on here.
      if (resource === undefined || resource.anyAttribute || typeof attribute !== 'string') return true;
      const spec = resource.spec?.attributes[attribute];
      return spec === undefined || spec.type.type === 'array';
    }
    return false;
  }

  private mismatch(value: unknown, type: PropertyType, path: string): ValidationIssue[] {
    return [issue(path, `expected ${this.typeName(type)}, got ${describe(value)}`)];
  }

  private typeName(type: PropertyType): string {
    switch (type.type) {
      case 'ref':
        return `an object (${specDatabase().get('typeDefinition', type.reference).name})`;
      case 'array':
        return `an array of ${this.typeName(type.element)}`;
      case 'map':
        return `a map of ${this.typeName(type.element)}`;
      case 'union':
        return type.types.map((member) => this.typeName(member)).join(' or ');
      case 'tag':
        return 'a tag ({ Key, Value })';
      case 'integer':
        return 'an integer';
      case 'json':
        return 'JSON';
      case 'null':
        return 'null';
      default:
        return `a ${type.type}`;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 3. References.

/**
 * Where a value sits: in `Conditions` only parameters, mappings and other conditions may be
 * referenced (conditions are evaluated before any resource exists).
 */
type Scope = 'anywhere' | 'conditions';

/** `Fn::GetAtt` argument as [resource, attribute]: `['Res', 'Attr']` or `'Res.Attr'`; undefined if malformed. */
function splitGetAtt(arg: unknown): [string, unknown] | undefined {
  if (typeof arg === 'string') {
    const dot = arg.indexOf('.');
    return dot > 0 ? [arg.slice(0, dot), arg.slice(dot + 1)] : undefined;
  }
  if (isArray(arg) && arg.length === 2 && typeof arg[0] === 'string') return [arg[0], arg[1]];
  return undefined;
}

/** Walks any value and checks every intrinsic function call found in it. */
function checkReferences(value: unknown, path: string, index: TemplateIndex, scope: Scope): ValidationIssue[] {
  if (isArray(value)) return value.flatMap((element, i) => checkReferences(element, item(path, i), index, scope));
  if (!isObject(value)) return [];
  const fn = intrinsicName(value);
  // Inside Conditions, `{ Condition: Name }` refers to another condition.
  if (scope === 'conditions' && Object.keys(value).length === 1 && has(value, 'Condition')) {
    return checkConditionName(value['Condition'], child(path, 'Condition'), index);
  }
  if (fn === undefined) {
    return Object.entries(value).flatMap(([key, element]) => checkReferences(element, child(path, key), index, scope));
  }

  const arg = value[fn];
  const issues: ValidationIssue[] = [];
  let nested: unknown = arg;
  switch (fn) {
    case 'Ref':
      if (typeof arg === 'string') issues.push(...checkRefName(arg, path, index, scope, 'Ref'));
      else if (intrinsicName(arg) === undefined) issues.push(issue(path, `Ref takes a name, got ${describe(arg)}`));
      break;
    case 'Fn::GetAtt':
      issues.push(...checkGetAtt(arg, path, index, scope));
      break;
    case 'Fn::Sub': {
      const [text, variables] = isArray(arg) ? arg : [arg, {}];
      if (typeof text === 'string' && isObject(variables) && (!isArray(arg) || arg.length === 2)) {
        issues.push(...checkSubString(text, new Set(Object.keys(variables)), path, index, scope));
      } else if (intrinsicName(text) === undefined) {
        issues.push(issue(path, 'Fn::Sub takes a string or [string, { variable: value }]'));
      }
      break;
    }
    case 'Fn::If': {
      if (isArray(arg) && arg.length === 3) issues.push(...checkConditionName(arg[0], item(child(path, 'Fn::If'), 0), index));
      else issues.push(issue(child(path, 'Fn::If'), 'Fn::If takes [condition name, value if true, value if false]'));
      nested = isArray(arg) ? arg.slice(1) : arg;
      break;
    }
    case 'Fn::FindInMap':
      issues.push(...checkFindInMap(arg, path, index));
      break;
    default:
      if (!INTRINSIC_FUNCTIONS.has(fn)) issues.push(issue(path, `unknown intrinsic function "${fn}"${suggestion(fn, INTRINSIC_FUNCTIONS)}`));
  }
  // Intrinsic functions nest (`Fn::Join` of `Ref`s, `Fn::Sub` variables, `Fn::If` branches).
  // For Fn::If the paths of the branches are offset by one: keep them exact.
  const nestedPath = child(path, fn);
  if (fn === 'Fn::If' && isArray(nested)) {
    nested.forEach((branch, i) => issues.push(...checkReferences(branch, item(nestedPath, i + 1), index, scope)));
  } else {
    issues.push(...checkReferences(nested, nestedPath, index, scope));
  }
  return issues;
}

/** A name used by `Ref` or `${Name}`: a pseudo parameter, a parameter or (outside Conditions) a resource. */
function checkRefName(name: string, path: string, index: TemplateIndex, scope: Scope, how: string): ValidationIssue[] {
  if (PSEUDO_PARAMETERS.has(name) || index.parameters.has(name)) return [];
  if (name.startsWith('AWS::')) return [issue(path, `${how} to unknown pseudo parameter "${name}"${suggestion(name, PSEUDO_PARAMETERS)}`)];
  if (index.resources.has(name)) {
    return scope === 'conditions' ? [issue(path, `${how} to resource "${name}": Conditions can only use parameters`)] : [];
  }
  const candidates = [...index.parameters.keys(), ...index.resources.keys()];
  return [issue(path, `${how} to "${name}", which is neither a resource nor a parameter of this template${suggestion(name, candidates)}`)];
}

/** `Fn::GetAtt`: an existing resource and, if its type is known, an attribute the type has. */
function checkGetAtt(arg: unknown, path: string, index: TemplateIndex, scope: Scope): ValidationIssue[] {
  const parts = splitGetAtt(arg);
  if (parts === undefined) return [issue(path, 'Fn::GetAtt takes [resource, attribute] or "resource.attribute"')];
  const [resourceName, attribute] = parts;
  if (typeof attribute !== 'string' && intrinsicName(attribute) === undefined) {
    return [issue(path, `Fn::GetAtt attribute must be a string, got ${describe(attribute)}`)];
  }
  return checkAttribute(resourceName, attribute, path, index, scope, 'Fn::GetAtt');
}

function checkAttribute(resourceName: string, attribute: unknown, path: string, index: TemplateIndex, scope: Scope, how: string): ValidationIssue[] {
  const resource = index.resources.get(resourceName);
  if (resource === undefined) {
    const what = index.parameters.has(resourceName) ? 'a parameter, not a resource' : 'not a resource of this template';
    return [issue(path, `${how} of "${resourceName}", which is ${what}${suggestion(resourceName, index.resources.keys())}`)];
  }
  if (scope === 'conditions') return [issue(path, `${how} of resource "${resourceName}": Conditions can only use parameters`)];
  // An attribute given by `Ref` (allowed by CloudFormation) is only known at deploy time.
  if (typeof attribute !== 'string' || resource.anyAttribute || resource.spec === undefined) return [];
  const attributes = Object.keys(resource.spec.attributes);
  if (attributes.includes(attribute)) return [];
  // Nested stacks (and provisioned products) expose their outputs as `Outputs.<Name>`.
  if (attribute.startsWith('Outputs.') && attributes.includes('Outputs')) return [];
  const list = attributes.length === 0 ? 'it has none' : `it has ${attributes.join(', ')}`;
  const hint = suggestion(attribute, attributes);
  return [issue(path, `${how}: ${resource.type ?? 'the'} resource "${resourceName}" has no attribute "${attribute}"${hint || ` (${list})`}`)];
}

/** `${Name}` and `${Resource.Attribute}` in a `Fn::Sub` string; `${!Literal}` and the given variables are skipped. */
function checkSubString(text: string, variables: Set<string>, path: string, index: TemplateIndex, scope: Scope): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const match of text.matchAll(/\$\{([^}]*)\}/g)) {
    const name = (match[1] ?? '').trim();
    if (name.startsWith('!') || variables.has(name)) continue;
    if (name === '') {
      issues.push(issue(path, 'Fn::Sub has an empty ${}'));
      continue;
    }
    const dot = name.indexOf('.');
    if (dot > 0) issues.push(...checkAttribute(name.slice(0, dot), name.slice(dot + 1), path, index, scope, `Fn::Sub \${${name}}`));
    else issues.push(...checkRefName(name, path, index, scope, `Fn::Sub \${${name}}`));
  }
  return issues;
}

/** `Fn::FindInMap: [map, topKey, secondKey]`: the map exists and, for literal keys, so do the keys. */
function checkFindInMap(arg: unknown, path: string, index: TemplateIndex): ValidationIssue[] {
  if (!isArray(arg) || arg.length < 3 || arg.length > 4) {
    return [issue(path, 'Fn::FindInMap takes [map name, top-level key, second-level key]')];
  }
  const [mapName, topKey, secondKey] = arg;
  if (typeof mapName !== 'string') return [];
  const map = index.mappings.get(mapName);
  if (map === undefined) return [issue(path, `Fn::FindInMap of unknown mapping "${mapName}"${suggestion(mapName, index.mappings.keys())}`)];
  // A fourth argument (DefaultValue, language extensions) makes missing keys legitimate.
  if (arg.length === 4 || typeof topKey !== 'string' || !isObject(map)) return [];
  const top = map[topKey];
  if (!has(map, topKey)) return [issue(path, `mapping "${mapName}" has no key "${topKey}"`)];
  if (typeof secondKey === 'string' && isObject(top) && !has(top, secondKey)) {
    return [issue(path, `mapping "${mapName}.${topKey}" has no key "${secondKey}"`)];
  }
  return [];
}
