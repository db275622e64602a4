/**
 * How the web app is hosted on AWS, checked over a packaged CloudFormation stack (`serverless
 * package` output): a private bucket that only this stage's CloudFront distribution reads, through
 * Origin Access Control (never the legacy origin access identity); the single-page-app fallback
 * on the app's behaviour only, so API errors reach clients as the API sent them; `/v1/*` and
 * `/docs*` passed to the HTTP API uncached with every method and header; strict security headers;
 * the media bucket's CORS open to the app's origin; the outputs the deploy script reads.
 * `appHostingProblems` returns one line per violation; local/checks/appHosting.test.ts runs it
 * over the dev, test and prod packages (expecting none) and over broken copies (expecting each).
 */
import vm from 'node:vm';
import { RELEASES_PREFIX } from './deploy-web';
import { render, type Resource } from './policy';
import { serviceConfig } from '../stack/serviceConfig';

export interface HostingTemplate {
  Resources: Record<string, Resource>;
  Conditions?: Record<string, unknown>;
  Outputs?: Record<string, unknown>;
}

/** What a stage's settings say the hosting must look like (shared/config/stages/<stage>.yml). */
export interface AppFacts {
  stage: string;
  region: string;
  mediaBucket: string;
  /** The app's own domain (`app.domainName`), or '' when it is served on the distribution's address. */
  domainName: string;
}

export function appFacts(stage: string): AppFacts {
  const config = serviceConfig(stage);
  const custom = config.custom as { mediaBucket: string; app: { domainName: string } };
  return { stage, region: config.provider.region, mediaBucket: custom.mediaBucket, domainName: custom.app.domainName };
}

/** CloudFront's managed policies, by the ids CloudFormation takes (the same in every account). */
export const MANAGED = {
  cachingOptimized: '658327ea-f89d-4fab-a63d-7e88639e58f6',
  cachingDisabled: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
  allViewerExceptHostHeader: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
} as const;

const ALL_METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'];
export const API_PATHS = ['/v1/*', '/docs*'];
export const OUTPUTS = ['AppUrl', 'AppBucketName', 'AppDistributionId'];

/** The S3 origin (scheme and host) that presigned GET and POST URLs of the media bucket name. */
export const mediaOrigin = (facts: AppFacts): string => `https://${facts.mediaBucket}.s3.${facts.region}.amazonaws.com`;

type Json = unknown;
type Node = Record<string, Json>;
const asNode = (value: Json): Node => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Node) : {});
const asList = (value: Json): Json[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);
const getAttOf = (value: Json, attribute: string): string | undefined => {
  const getAtt = asNode(value)['Fn::GetAtt'];
  return Array.isArray(getAtt) && getAtt[1] === attribute ? String(getAtt[0]) : undefined;
};
const refOf = (value: Json): string | undefined => {
  const ref = asNode(value)['Ref'];
  return typeof ref === 'string' ? ref : undefined;
};

/**
 * The template's `Fn::If`s resolved for its own conditions (they compare stage settings written
 * into the template as literals), and `{ Ref: AWS::NoValue }` dropped, as CloudFormation would.
 */
export function resolveConditions(template: HostingTemplate): (value: Json) => Json {
  const condition = (name: string): boolean => evaluate(template.Conditions?.[name]) === true;
  function evaluate(expression: Json): Json {
    if (Array.isArray(expression)) return expression.map(evaluate).filter((item) => item !== undefined);
    if (expression === null || typeof expression !== 'object') return expression;
    const node = expression as Node;
    if (refOf(node) === 'AWS::NoValue') return undefined;
    if ('Condition' in node && Object.keys(node).length === 1) return condition(String(node['Condition']));
    if ('Fn::Equals' in node) {
      const [a, b] = asList(node['Fn::Equals']).map(evaluate);
      return JSON.stringify(a) === JSON.stringify(b);
    }
    if ('Fn::Not' in node) return evaluate(asList(node['Fn::Not'])[0]) !== true;
    if ('Fn::And' in node) return asList(node['Fn::And']).every((item) => evaluate(item) === true);
    if ('Fn::Or' in node) return asList(node['Fn::Or']).some((item) => evaluate(item) === true);
    if ('Fn::If' in node) {
      const [name, whenTrue, whenFalse] = asList(node['Fn::If']);
      return evaluate(condition(String(name)) ? whenTrue : whenFalse);
    }
    return Object.fromEntries(
      Object.entries(node)
        .map(([key, child]) => [key, evaluate(child)] as const)
        .filter(([, child]) => child !== undefined),
    );
  }
  return evaluate;
}

/** A Content-Security-Policy header value as directive → sources. */
export function parseCsp(value: string): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  for (const part of value.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name !== undefined && name !== '') directives.set(name.toLowerCase(), sources);
  }
  return directives;
}

/** The live-updates WebSocket API's origin, as the CSP names it (CloudFormation fills in the API id and region). */
export const LIVE_ORIGIN = 'wss://${WebsocketsApi}.execute-api.${AWS::Region}.amazonaws.com';

/** The CSP of a response headers policy, rendered (`${...}` where CloudFormation fills in a value). */
export function cspOf(policy: Resource | undefined): string {
  const csp = asNode(asNode(asNode(policy?.Properties?.['ResponseHeadersPolicyConfig'])['SecurityHeadersConfig'])['ContentSecurityPolicy'])['ContentSecurityPolicy'];
  const join = asNode(csp)['Fn::Join'];
  if (Array.isArray(join)) return asList(join[1]).map(render).join(String(join[0]));
  return render(csp);
}

/** Runs a CloudFront Function's viewer-request handler (cloudfront-js-2.0 is ECMAScript with a `handler`) on one URI. */
export function runViewerRequest(code: string, uri: string): string {
  const sandbox: { event: unknown; result?: { uri: string } } = { event: { version: '1.0', context: { eventType: 'viewer-request' }, viewer: { ip: '192.0.2.1' }, request: { method: 'GET', uri, querystring: {}, headers: {}, cookies: {} } } };
  vm.runInNewContext(`${code}\nresult = handler(event);`, sandbox, { timeout: 1000 });
  return String(sandbox.result?.uri);
}

/** Paths the app's fallback must answer with index.html, and files it must leave alone. */
export const SPA_ROUTES = ['/', '/library', '/media/01JABCDEF0123456789ABCDEFG', '/account/'];
export const APP_FILES = ['/index.html', '/assets/index-CsKN8kt1.js', '/assets/index-BmAD0vE5.css', '/favicon.ico', '/robots.txt'];

function checkBucket(template: HostingTemplate, bucketId: string, distributionId: string, problems: string[]): void {
  const bucket = template.Resources[bucketId];
  const block = asNode(bucket?.Properties?.['PublicAccessBlockConfiguration']);
  for (const flag of ['BlockPublicAcls', 'BlockPublicPolicy', 'IgnorePublicAcls', 'RestrictPublicBuckets']) {
    if (block[flag] !== true) problems.push(`${bucketId}: PublicAccessBlockConfiguration.${flag} must be true`);
  }
  const ownership = asList(asNode(bucket?.Properties?.['OwnershipControls'])['Rules']).map((rule) => asNode(rule)['ObjectOwnership']);
  if (ownership.join() !== 'BucketOwnerEnforced') problems.push(`${bucketId}: ObjectOwnership must be BucketOwnerEnforced (ACLs disabled)`);
  const encryption = asList(asNode(bucket?.Properties?.['BucketEncryption'])['ServerSideEncryptionConfiguration']);
  if (encryption.length === 0) problems.push(`${bucketId}: bucket without default encryption`);

  const policies = Object.entries(template.Resources).filter(([, resource]) => resource.Type === 'AWS::S3::BucketPolicy' && refOf(resource.Properties?.['Bucket']) === bucketId);
  if (policies.length !== 1) {
    problems.push(`${bucketId}: expected one bucket policy, found ${policies.length}`);
    return;
  }
  const statements = asList(asNode(policies[0]?.[1].Properties?.['PolicyDocument'])['Statement']).map(asNode);
  const tlsOnly = statements.some((s) => s['Effect'] === 'Deny' && asNode(asNode(s['Condition'])['Bool'])['aws:SecureTransport'] === false);
  if (!tlsOnly) problems.push(`${bucketId}: no statement denying requests without TLS`);
  const recordsHidden = statements.some(
    (s) =>
      s['Effect'] === 'Deny' &&
      JSON.stringify(s['Principal']) === JSON.stringify({ Service: 'cloudfront.amazonaws.com' }) &&
      asList(s['Resource']).map(render).join() === `\${${bucketId}.Arn}/${RELEASES_PREFIX}*`,
  );
  if (!recordsHidden) problems.push(`${bucketId}: the deploy's release records (${RELEASES_PREFIX}) are readable through CloudFront`);
  const allows = statements.filter((s) => s['Effect'] === 'Allow');
  const sourceArn = `arn:\${AWS::Partition}:cloudfront::\${AWS::AccountId}:distribution/\${${distributionId}}`;
  if (allows.length === 0) problems.push(`${bucketId}: no statement lets the distribution read the app`);
  for (const s of allows) {
    const principal = JSON.stringify(s['Principal']);
    if (principal !== JSON.stringify({ Service: 'cloudfront.amazonaws.com' })) problems.push(`${bucketId}: allows ${principal}, only cloudfront.amazonaws.com (Origin Access Control) may read`);
    if (asList(s['Action']).join() !== 's3:GetObject') problems.push(`${bucketId}: allows ${JSON.stringify(s['Action'])}, CloudFront needs s3:GetObject only`);
    if (asList(s['Resource']).map(render).join() !== `\${${bucketId}.Arn}/*`) problems.push(`${bucketId}: allows reading ${JSON.stringify(s['Resource'])}, expected the bucket's objects`);
    const condition = asNode(s['Condition']);
    const bound = Object.keys(condition).length === 1 && render(asNode(condition['StringEquals'])['AWS:SourceArn']) === sourceArn;
    if (!bound) problems.push(`${bucketId}: CloudFront's read is not bound to this distribution (StringEquals AWS:SourceArn ${sourceArn}), found ${JSON.stringify(s['Condition'] ?? null)}`);
  }
}

function checkHeaders(template: HostingTemplate, policyId: string | undefined, facts: AppFacts, problems: string[]): void {
  const policy = policyId === undefined ? undefined : template.Resources[policyId];
  if (policy?.Type !== 'AWS::CloudFront::ResponseHeadersPolicy') {
    problems.push('the app behaviour has no response headers policy of its own');
    return;
  }
  const security = asNode(asNode(policy.Properties?.['ResponseHeadersPolicyConfig'])['SecurityHeadersConfig']);
  const csp = parseCsp(cspOf(policy));
  const sources = (directive: string): string[] => csp.get(directive) ?? [];
  const exactly: Record<string, string[]> = {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'object-src': ["'none'"],
    'frame-ancestors': ["'none'"],
    'base-uri': ["'self'"],
    'form-action': ["'self'"],
  };
  for (const [directive, wanted] of Object.entries(exactly)) {
    if (JSON.stringify(sources(directive)) !== JSON.stringify(wanted)) problems.push(`CSP ${directive} must be ${wanted.join(' ')}, found ${JSON.stringify(sources(directive))}`);
  }
  for (const [directive, list] of csp) {
    for (const source of list) {
      if (/^'unsafe-|^'wasm-unsafe|^\*$|^https?:$|^https?:\/\/\*/.test(source)) problems.push(`CSP ${directive} allows ${source}`);
    }
  }
  if (!csp.has('style-src')) problems.push('CSP has no style-src');
  const media = mediaOrigin(facts);
  for (const directive of ['img-src', 'media-src', 'connect-src']) {
    if (!sources(directive).includes(media)) problems.push(`CSP ${directive} must allow the media bucket ${media} (thumbnails, videos and uploads go straight to S3), found ${JSON.stringify(sources(directive))}`);
  }
  if (!sources('connect-src').includes(LIVE_ORIGIN)) problems.push(`CSP connect-src must allow the live-updates WebSocket API ${LIVE_ORIGIN}, found ${JSON.stringify(sources('connect-src'))}`);
  if (asNode(security['ContentSecurityPolicy'])['Override'] !== true) problems.push('CSP must override whatever the origin sends');
  const hsts = asNode(security['StrictTransportSecurity']);
  if (!(Number(hsts['AccessControlMaxAgeSec']) >= 31536000) || hsts['Override'] !== true) problems.push(`Strict-Transport-Security must last a year or more, found ${JSON.stringify(hsts)}`);
  if (asNode(security['ContentTypeOptions'])['Override'] !== true) problems.push('X-Content-Type-Options: nosniff missing');
  if (asNode(security['FrameOptions'])['FrameOption'] !== 'DENY') problems.push('X-Frame-Options must be DENY');
  if (asNode(security['ReferrerPolicy'])['ReferrerPolicy'] !== 'strict-origin-when-cross-origin') problems.push('Referrer-Policy must be strict-origin-when-cross-origin');
}

/** Every way the packaged stack's web hosting breaks the rules above; empty when it complies. */
export function appHostingProblems(template: HostingTemplate, facts: AppFacts): string[] {
  const problems: string[] = [];
  const resolve = resolveConditions(template);
  const resources = Object.entries(template.Resources);
  const ofType = (type: string) => resources.filter(([, resource]) => resource.Type === type);

  const legacy = ofType('AWS::CloudFront::CloudFrontOriginAccessIdentity');
  for (const [id] of legacy) problems.push(`${id}: a legacy origin access identity (use Origin Access Control)`);

  const distributions = ofType('AWS::CloudFront::Distribution');
  if (distributions.length !== 1) {
    problems.push(`expected one CloudFront distribution, found ${distributions.length}`);
    return problems;
  }
  const [distributionId, distribution] = distributions[0] as [string, Resource];
  const config = asNode(resolve(distribution.Properties?.['DistributionConfig']));

  if (config['Enabled'] !== true) problems.push(`${distributionId}: not enabled`);
  if (config['HttpVersion'] !== 'http2and3') problems.push(`${distributionId}: HttpVersion ${String(config['HttpVersion'])}, expected http2and3`);
  if (config['IPV6Enabled'] !== true) problems.push(`${distributionId}: IPv6 off`);
  if (config['PriceClass'] !== 'PriceClass_100') problems.push(`${distributionId}: PriceClass ${String(config['PriceClass'])}, expected PriceClass_100`);
  const certificate = asNode(config['ViewerCertificate']);
  const aliases = asList(config['Aliases']).map(String);
  if (facts.domainName === '') {
    if (certificate['CloudFrontDefaultCertificate'] !== true || aliases.length > 0) problems.push(`${distributionId}: no app.domainName, so the *.cloudfront.net certificate and no aliases (found ${JSON.stringify({ certificate, aliases })})`);
  } else {
    if (aliases.join() !== facts.domainName) problems.push(`${distributionId}: aliases ${JSON.stringify(aliases)}, expected ["${facts.domainName}"]`);
    if (certificate['MinimumProtocolVersion'] !== 'TLSv1.2_2021' || certificate['SslSupportMethod'] !== 'sni-only' || certificate['AcmCertificateArn'] === undefined) {
      problems.push(`${distributionId}: a custom domain needs its ACM certificate with TLSv1.2_2021 at least, SNI only (found ${JSON.stringify(certificate)})`);
    }
  }
  if (asList(config['CustomErrorResponses']).length > 0) problems.push(`${distributionId}: custom error responses would turn the API's 4xx into index.html (the SPA fallback is the viewer-request function)`);

  // Origins: the app bucket through OAC, the HTTP API over HTTPS.
  const origins = asList(config['Origins']).map(asNode);
  const originById = new Map(origins.map((origin) => [String(origin['Id']), origin]));
  for (const origin of origins) {
    if (render(asNode(origin['S3OriginConfig'])['OriginAccessIdentity'] ?? '') !== '') problems.push(`origin ${String(origin['Id'])}: a legacy origin access identity (use Origin Access Control)`);
  }
  const behaviour = asNode(config['DefaultCacheBehavior']);
  const appOrigin = originById.get(String(behaviour['TargetOriginId']));
  const bucketId = getAttOf(appOrigin?.['DomainName'], 'RegionalDomainName');
  if (appOrigin === undefined || bucketId === undefined || template.Resources[bucketId]?.Type !== 'AWS::S3::Bucket') {
    problems.push(`${distributionId}: the default behaviour must serve the app bucket (its RegionalDomainName)`);
  } else {
    const oacId = getAttOf(appOrigin['OriginAccessControlId'], 'Id');
    const oac = asNode(asNode(oacId === undefined ? undefined : template.Resources[oacId]?.Properties)['OriginAccessControlConfig']);
    if (oacId === undefined || template.Resources[oacId]?.Type !== 'AWS::CloudFront::OriginAccessControl') {
      problems.push(`origin ${String(appOrigin['Id'])}: no Origin Access Control attached`);
    } else if (oac['OriginAccessControlOriginType'] !== 's3' || oac['SigningBehavior'] !== 'always' || oac['SigningProtocol'] !== 'sigv4') {
      problems.push(`${oacId}: must sign always with sigv4 for s3 (found ${JSON.stringify(oac)})`);
    }
    checkBucket(template, bucketId, distributionId, problems);
  }

  // The app's behaviour: cached, HTTPS, its headers, the SPA rewrite.
  if (behaviour['ViewerProtocolPolicy'] !== 'redirect-to-https') problems.push(`default behaviour: ViewerProtocolPolicy ${String(behaviour['ViewerProtocolPolicy'])}, expected redirect-to-https`);
  if (behaviour['CachePolicyId'] !== MANAGED.cachingOptimized) problems.push(`default behaviour: cache policy ${String(behaviour['CachePolicyId'])}, expected Managed-CachingOptimized`);
  checkHeaders(template, refOf(behaviour['ResponseHeadersPolicyId']), facts, problems);
  const associations = asList(behaviour['FunctionAssociations']).map(asNode);
  const functionId = associations.length === 1 && associations[0]?.['EventType'] === 'viewer-request' ? getAttOf(associations[0]['FunctionARN'], 'FunctionARN') : undefined;
  const spa = functionId === undefined ? undefined : template.Resources[functionId];
  if (spa?.Type !== 'AWS::CloudFront::Function') {
    problems.push(`default behaviour: the SPA fallback (one viewer-request CloudFront Function) is not attached (found ${JSON.stringify(associations)})`);
  } else {
    const code = String(spa.Properties?.['FunctionCode']);
    for (const route of SPA_ROUTES) {
      const uri = runViewerRequest(code, route);
      if (uri !== '/index.html') problems.push(`${functionId}: ${route} becomes ${uri}, expected /index.html`);
    }
    for (const file of APP_FILES) {
      const uri = runViewerRequest(code, file);
      if (uri !== file) problems.push(`${functionId}: ${file} becomes ${uri}, expected it unchanged`);
    }
    if (spa.Properties?.['AutoPublish'] !== true) problems.push(`${functionId}: not published (AutoPublish), the distribution would run nothing`);
  }

  // The API's behaviours: uncached, every method, every viewer header but Host, no functions.
  const behaviours = asList(config['CacheBehaviors']).map(asNode);
  for (const [index, other] of behaviours.entries()) {
    const pattern = String(other['PathPattern']);
    if (asList(other['FunctionAssociations']).length > 0 || asList(other['LambdaFunctionAssociations']).length > 0) problems.push(`behaviour ${pattern}: runs a function (the SPA rewrite belongs to the default behaviour only)`);
    if (!API_PATHS.includes(pattern)) problems.push(`behaviour ${pattern} (#${index}): not one of ${API_PATHS.join(', ')}`);
  }
  for (const pattern of API_PATHS) {
    const api = behaviours.find((candidate) => candidate['PathPattern'] === pattern);
    if (api === undefined) {
      problems.push(`no ${pattern} behaviour (it would fall to the app bucket and the SPA fallback)`);
      continue;
    }
    const origin = originById.get(String(api['TargetOriginId']));
    if (render(origin?.['DomainName']) !== '${HttpApi}.execute-api.${AWS::Region}.amazonaws.com') problems.push(`behaviour ${pattern}: targets ${render(origin?.['DomainName'])}, not the HTTP API`);
    if (asNode(origin?.['CustomOriginConfig'])['OriginProtocolPolicy'] !== 'https-only') problems.push(`behaviour ${pattern}: the API origin must be reached over HTTPS only`);
    if (api['CachePolicyId'] !== MANAGED.cachingDisabled) problems.push(`behaviour ${pattern}: cache policy ${String(api['CachePolicyId'])}, expected Managed-CachingDisabled`);
    if (api['OriginRequestPolicyId'] !== MANAGED.allViewerExceptHostHeader) problems.push(`behaviour ${pattern}: origin request policy ${String(api['OriginRequestPolicyId'])}, expected Managed-AllViewerExceptHostHeader (Authorization and query strings reach the API)`);
    if (api['ViewerProtocolPolicy'] === 'allow-all' || api['ViewerProtocolPolicy'] === undefined) problems.push(`behaviour ${pattern}: plain HTTP allowed`);
    if (api['ResponseHeadersPolicyId'] !== undefined) problems.push(`behaviour ${pattern}: a response headers policy would override the API's own headers`);
    const methods = asList(api['AllowedMethods']).map(String).sort();
    if (pattern === '/v1/*' && JSON.stringify(methods) !== JSON.stringify(ALL_METHODS)) problems.push(`behaviour ${pattern}: methods ${JSON.stringify(methods)}, expected all of ${JSON.stringify(ALL_METHODS)}`);
  }

  // The media bucket accepts uploads from the app's pages (CORS).
  const mediaBucket = resources.find(([, resource]) => resource.Type === 'AWS::S3::Bucket' && resource.Properties?.['BucketName'] === facts.mediaBucket);
  const rules = asList(resolve(asNode(mediaBucket?.[1].Properties?.['CorsConfiguration'])['CorsRules'])).map(asNode);
  const appOriginValue = facts.domainName === '' ? `https://\${${distributionId}.DomainName}` : `https://${facts.domainName}`;
  const allowed = rules.some((rule) => asList(rule['AllowedOrigins']).map(render).includes(appOriginValue) && asList(rule['AllowedMethods']).includes('POST'));
  if (!allowed) problems.push(`media bucket CORS does not let the app's origin ${appOriginValue} upload (POST)`);

  // What the deploy script reads.
  const outputs = asNode(template.Outputs);
  for (const name of OUTPUTS) if (outputs[name] === undefined) problems.push(`output ${name} missing`);
  if (refOf(asNode(outputs['AppBucketName'])['Value']) !== bucketId) problems.push('output AppBucketName must be the app bucket (Ref)');
  if (refOf(asNode(outputs['AppDistributionId'])['Value']) !== distributionId) problems.push('output AppDistributionId must be the distribution (Ref)');
  const url = render(resolve(asNode(outputs['AppUrl'])['Value']));
  if (url !== appOriginValue) problems.push(`output AppUrl is ${url}, expected ${appOriginValue}`);
  return problems;
}
