/**
 * The web app's hosting on AWS, checked over what a deploy would upload: the packaged
 * CloudFormation stack of dev, test and prod (`serverless package`, offline). The rules live in
 * local/delivery/appHosting.ts; this suite runs them, proves on broken copies of the prod stack
 * that each catches what it is for, and checks the two things a browser would notice first: the
 * SPA fallback's code as CloudFront runs it, and that the CSP lets through exactly the S3 URLs the
 * API presigns.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { expect } from 'chai';
import { appFacts, appHostingProblems, cspOf, LIVE_ORIGIN, mediaOrigin, parseCsp, runViewerRequest, type AppFacts, type HostingTemplate } from '../delivery/appHosting';
import { packagedTemplate } from '../gateway/template';
import { appSecurityHeaders } from '../stack/edge';

type Node = Record<string, unknown>;
const at = (value: unknown, ...keys: Array<string | number>): Node => keys.reduce<Node>((node, key) => (node as Record<string | number, unknown>)[key] as Node, value as Node);

describe('web app hosting over the packaged stack (CloudFront, OAC, headers)', function () {
  this.timeout(240_000);
  const stacks: Record<string, HostingTemplate> = {};

  before(async () => {
    for (const stage of ['dev', 'test', 'prod']) stacks[stage] = await packagedTemplate(stage);
  });

  for (const stage of ['dev', 'test', 'prod']) {
    it(`${stage}: private bucket read by this distribution only (OAC, SourceArn), SPA fallback on the app only, /v1/* and /docs* to the API uncached, security headers, CORS and outputs`, () => {
      expect(appHostingProblems(stacks[stage] as HostingTemplate, appFacts(stage))).to.deep.equal([]);
    });
  }

  it('the SPA fallback, run as CloudFront runs it: app routes get index.html, files stay what they are', () => {
    const code = String(stacks['prod']?.Resources['AppSpaRewriteFunction']?.Properties?.['FunctionCode']);
    expect(runViewerRequest(code, '/library')).to.equal('/index.html');
    expect(runViewerRequest(code, '/media/01JABCDEF0123456789ABCDEFG')).to.equal('/index.html');
    expect(runViewerRequest(code, '/')).to.equal('/index.html');
    expect(runViewerRequest(code, '/assets/index-CsKN8kt1.js')).to.equal('/assets/index-CsKN8kt1.js');
    expect(runViewerRequest(code, '/assets/hash.worker-B-efuk7p.js.map')).to.equal('/assets/hash.worker-B-efuk7p.js.map');
  });

  for (const stage of ['dev', 'prod']) {
    it(`${stage}: the CSP allows the very origin the API's presigned GET and POST URLs name (thumbnails, videos, uploads), and no other host`, async () => {
      const facts = appFacts(stage);
      // The functions' client: the stage's region, no endpoint override (shared/aws/s3.ts on AWS).
      const s3 = new S3Client({ region: facts.region, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' } });
      const download = new URL(await getSignedUrl(s3, new GetObjectCommand({ Bucket: facts.mediaBucket, Key: 'media/u/m/original' }), { expiresIn: 60 }));
      const upload = new URL((await createPresignedPost(s3, { Bucket: facts.mediaBucket, Key: 'media/u/m/original' })).url);
      expect(download.origin).to.equal(mediaOrigin(facts));
      expect(upload.origin).to.equal(mediaOrigin(facts));

      const csp = parseCsp(cspOf(stacks[stage]?.Resources['AppResponseHeadersPolicy']));
      for (const directive of ['img-src', 'media-src', 'connect-src']) expect(csp.get(directive), directive).to.include(download.origin);
      const hosts = [...csp.values()].flat().filter((source) => source.startsWith('https:') || source.startsWith('wss:'));
      expect([...new Set(hosts)]).to.deep.equal([download.origin, LIVE_ORIGIN]);
      expect(csp.get('connect-src')).to.include(LIVE_ORIGIN);
    });
  }

  it('the local edge (npm start, the browser tests) sends the app the same CSP and headers as CloudFront, with the local storage origin for the media bucket', () => {
    const facts = appFacts('prod');
    const sorted = (csp: Map<string, string[]>): Array<[string, string[]]> => [...csp.entries()].map(([name, sources]): [string, string[]] => [name, [...sources].sort()]).sort(([a], [b]) => a.localeCompare(b));
    const policy = stacks['prod']?.Resources['AppResponseHeadersPolicy'];
    const security = at(policy?.Properties, 'ResponseHeadersPolicyConfig', 'SecurityHeadersConfig');
    const local = appSecurityHeaders([mediaOrigin(facts)], [LIVE_ORIGIN]);
    expect(sorted(parseCsp(local['content-security-policy'] as string))).to.deep.equal(sorted(parseCsp(cspOf(policy))));
    expect(local['x-frame-options']).to.equal(at(security, 'FrameOptions')['FrameOption']);
    expect(local['referrer-policy']).to.equal(at(security, 'ReferrerPolicy')['ReferrerPolicy']);
    expect(local['x-content-type-options']).to.equal('nosniff');
  });

  describe('catches', () => {
    let prod: HostingTemplate;
    let facts: AppFacts;
    before(() => {
      prod = stacks['prod'] as HostingTemplate;
      facts = appFacts('prod');
    });
    const problemsAfter = (change: (template: HostingTemplate) => void, changedFacts: AppFacts = facts): string => {
      const copy = structuredClone(prod);
      change(copy);
      return appHostingProblems(copy, changedFacts).join('\n');
    };
    const distribution = (template: HostingTemplate): Node => at(template.Resources['AppDistribution']?.Properties, 'DistributionConfig');
    const apiBehaviour = (template: HostingTemplate): Node => (distribution(template)['CacheBehaviors'] as Node[]).find((behaviour) => behaviour['PathPattern'] === '/v1/*') as Node;
    const allowStatement = (template: HostingTemplate): Node => (at(template.Resources['AppBucketPolicy']?.Properties, 'PolicyDocument')['Statement'] as Node[]).find((statement) => statement['Effect'] === 'Allow') as Node;

    it('a legacy origin access identity instead of Origin Access Control', () => {
      const text = problemsAfter((template) => {
        template.Resources['AppOriginAccessIdentity'] = { Type: 'AWS::CloudFront::CloudFrontOriginAccessIdentity', Properties: { CloudFrontOriginAccessIdentityConfig: { Comment: 'legacy' } } };
        const origin = (distribution(template)['Origins'] as Node[])[0] as Node;
        origin['S3OriginConfig'] = { OriginAccessIdentity: { 'Fn::Sub': 'origin-access-identity/cloudfront/${AppOriginAccessIdentity}' } };
        delete origin['OriginAccessControlId'];
      });
      expect(text).to.contain('AppOriginAccessIdentity: a legacy origin access identity');
      expect(text).to.contain('origin app-bucket: a legacy origin access identity');
      expect(text).to.contain('origin app-bucket: no Origin Access Control attached');
    });

    it('an access control that does not sign every request', () => {
      const text = problemsAfter((template) => {
        at(template.Resources['AppOriginAccessControl']?.Properties, 'OriginAccessControlConfig')['SigningBehavior'] = 'no-override';
      });
      expect(text).to.contain('AppOriginAccessControl: must sign always with sigv4 for s3');
    });

    it("a bucket policy that lets any distribution read (no AWS:SourceArn), or anyone, or lists the bucket", () => {
      expect(problemsAfter((template) => delete allowStatement(template)['Condition'])).to.contain("AppBucket: CloudFront's read is not bound to this distribution");
      expect(
        problemsAfter((template) => {
          at(allowStatement(template), 'Condition', 'StringEquals')['AWS:SourceArn'] = { 'Fn::Sub': 'arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/*' };
        }),
      ).to.contain("AppBucket: CloudFront's read is not bound to this distribution");
      expect(problemsAfter((template) => (allowStatement(template)['Principal'] = '*'))).to.contain('AppBucket: allows "*"');
      expect(problemsAfter((template) => (allowStatement(template)['Action'] = ['s3:GetObject', 's3:ListBucket']))).to.contain('CloudFront needs s3:GetObject only');
    });

    it('a bucket that is public, keeps ACLs, takes plain HTTP, or shows the release records', () => {
      const text = problemsAfter((template) => {
        const bucket = template.Resources['AppBucket']?.Properties as Node;
        (bucket['PublicAccessBlockConfiguration'] as Node)['BlockPublicPolicy'] = false;
        delete bucket['OwnershipControls'];
        const statements = at(template.Resources['AppBucketPolicy']?.Properties, 'PolicyDocument')['Statement'] as Node[];
        statements.splice(0, statements.length, ...statements.filter((statement) => statement['Effect'] !== 'Deny'));
      });
      expect(text).to.contain('AppBucket: PublicAccessBlockConfiguration.BlockPublicPolicy must be true');
      expect(text).to.contain("AppBucket: the deploy's release records (_releases/) are readable through CloudFront");
      expect(text).to.contain('AppBucket: ObjectOwnership must be BucketOwnerEnforced');
      expect(text).to.contain('AppBucket: no statement denying requests without TLS');
    });

    it('/v1/* cached, short of methods, or without Authorization and query strings; a missing /docs* behaviour', () => {
      const text = problemsAfter((template) => {
        const api = apiBehaviour(template);
        api['CachePolicyId'] = '658327ea-f89d-4fab-a63d-7e88639e58f6';
        api['AllowedMethods'] = ['GET', 'HEAD', 'OPTIONS'];
        delete api['OriginRequestPolicyId'];
        const behaviours = distribution(template)['CacheBehaviors'] as Node[];
        behaviours.splice(behaviours.findIndex((behaviour) => behaviour['PathPattern'] === '/docs*'), 1);
      });
      expect(text).to.contain('behaviour /v1/*: cache policy 658327ea-f89d-4fab-a63d-7e88639e58f6, expected Managed-CachingDisabled');
      expect(text).to.contain('behaviour /v1/*: methods ["GET","HEAD","OPTIONS"]');
      expect(text).to.contain('expected Managed-AllViewerExceptHostHeader');
      expect(text).to.contain('no /docs* behaviour');
    });

    it('/v1/* sent to the app bucket', () => {
      expect(problemsAfter((template) => (apiBehaviour(template)['TargetOriginId'] = 'app-bucket'))).to.contain('behaviour /v1/*: targets ${AppBucket.RegionalDomainName}, not the HTTP API');
    });

    it('the SPA rewrite on the API behaviour, or missing from the app, or custom error responses', () => {
      const text = problemsAfter((template) => {
        const config = distribution(template);
        const app = config['DefaultCacheBehavior'] as Node;
        apiBehaviour(template)['FunctionAssociations'] = app['FunctionAssociations'];
        delete app['FunctionAssociations'];
        config['CustomErrorResponses'] = [{ ErrorCode: 403, ResponseCode: 200, ResponsePagePath: '/index.html' }];
      });
      expect(text).to.contain('behaviour /v1/*: runs a function');
      expect(text).to.contain('default behaviour: the SPA fallback (one viewer-request CloudFront Function) is not attached');
      expect(text).to.contain("custom error responses would turn the API's 4xx into index.html");
    });

    it('a fallback whose code rewrites files too', () => {
      const text = problemsAfter((template) => {
        (template.Resources['AppSpaRewriteFunction']?.Properties as Node)['FunctionCode'] = "function handler(event) { event.request.uri = '/index.html'; return event.request; }";
      });
      expect(text).to.contain('AppSpaRewriteFunction: /assets/index-CsKN8kt1.js becomes /index.html, expected it unchanged');
    });

    it("'unsafe-inline' scripts, a wildcard source, a CSP without the media bucket, and missing HSTS", () => {
      const text = problemsAfter((template) => {
        const security = at(template.Resources['AppResponseHeadersPolicy']?.Properties, 'ResponseHeadersPolicyConfig', 'SecurityHeadersConfig');
        const join = at(security, 'ContentSecurityPolicy', 'ContentSecurityPolicy')['Fn::Join'] as [string, unknown[]];
        join[1] = join[1].map((directive) =>
          typeof directive !== 'string' ? "connect-src 'self' https:" : directive.startsWith('script-src') ? "script-src 'self' 'unsafe-inline'" : directive,
        );
        delete security['StrictTransportSecurity'];
      });
      expect(text).to.contain('CSP script-src must be \'self\', found ["\'self\'","\'unsafe-inline\'"]');
      expect(text).to.contain("CSP script-src allows 'unsafe-inline'");
      expect(text).to.contain('CSP connect-src allows https:');
      expect(text).to.contain(`CSP connect-src must allow the media bucket ${mediaOrigin(facts)}`);
      expect(text).to.contain(`CSP connect-src must allow the live-updates WebSocket API ${LIVE_ORIGIN}`);
      expect(text).to.contain('Strict-Transport-Security must last a year or more');
    });

    it('the app served over plain HTTP, or without HTTP/3, IPv6 or its price class', () => {
      const text = problemsAfter((template) => {
        const config = distribution(template);
        (config['DefaultCacheBehavior'] as Node)['ViewerProtocolPolicy'] = 'allow-all';
        config['HttpVersion'] = 'http2';
        config['IPV6Enabled'] = false;
        config['PriceClass'] = 'PriceClass_All';
      });
      expect(text).to.contain('default behaviour: ViewerProtocolPolicy allow-all, expected redirect-to-https');
      expect(text).to.contain('HttpVersion http2, expected http2and3');
      expect(text).to.contain('IPv6 off');
      expect(text).to.contain('PriceClass PriceClass_All, expected PriceClass_100');
    });

    it('a custom domain: its alias and certificate with TLS 1.2 (2021) at least, and its origin in the media CORS', () => {
      const domain = { ...facts, domainName: 'photos.example.com' };
      const withDomain = (minimum: string) => (template: HostingTemplate) => {
        // What serverless.yml renders with `app.domainName` and `app.certificateArn` set.
        template.Conditions = { AppHasOwnDomain: { 'Fn::Not': [{ 'Fn::Equals': ['photos.example.com', ''] }] } };
        const config = distribution(template);
        config['Aliases'] = { 'Fn::If': ['AppHasOwnDomain', ['photos.example.com'], { Ref: 'AWS::NoValue' }] };
        const certificate = (config['ViewerCertificate'] as { 'Fn::If': [string, Node, Node] })['Fn::If'][1];
        certificate['AcmCertificateArn'] = 'arn:aws:acm:us-east-1:123456789012:certificate/abc';
        certificate['MinimumProtocolVersion'] = minimum;
        at(template.Outputs, 'AppUrl', 'Value')['Fn::If'] = ['AppHasOwnDomain', 'https://photos.example.com', { 'Fn::Sub': 'https://${AppDistribution.DomainName}' }];
      };
      const weak = problemsAfter(withDomain('TLSv1'), domain);
      expect(weak).to.contain('a custom domain needs its ACM certificate with TLSv1.2_2021 at least');
      // The stage's corsOrigins (prod: https://media-library.example.com) must then name the domain.
      expect(weak).to.contain("media bucket CORS does not let the app's origin https://photos.example.com upload (POST)");
      const fixed = problemsAfter((template) => {
        withDomain('TLSv1.2_2021')(template);
        const rules = at(template.Resources['S3BucketMedia']?.Properties, 'CorsConfiguration')['CorsRules'] as Node[];
        (rules[0]?.['AllowedOrigins'] as string[]).push('https://photos.example.com');
      }, domain);
      expect(fixed).to.equal('');
    });

    it("the media bucket's CORS without the distribution's origin", () => {
      const text = problemsAfter((template) => {
        const rules = at(template.Resources['S3BucketMedia']?.Properties, 'CorsConfiguration')['CorsRules'] as Node[];
        rules.splice(1, 1);
      });
      expect(text).to.contain("media bucket CORS does not let the app's origin https://${AppDistribution.DomainName} upload (POST)");
    });

    it('missing or wrong outputs', () => {
      const text = problemsAfter((template) => {
        delete template.Outputs?.['AppDistributionId'];
        at(template.Outputs, 'AppBucketName')['Value'] = { Ref: 'S3BucketMedia' };
      });
      expect(text).to.contain('output AppDistributionId missing');
      expect(text).to.contain('output AppBucketName must be the app bucket (Ref)');
    });
  });
});
