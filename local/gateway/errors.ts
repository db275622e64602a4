/**
 * Error answers in each AWS service's own wire format, so the SDK in a function raises exactly
 * the error it would raise on AWS (same name, status and message shape). Shapes from AWS's
 * answers as seen in the wild, e.g. aws-sdk-js#832 (DynamoDB), aws-samples/serverless-patterns#2457
 * (S3), aws-ia/terraform-aws-control_tower_account_factory#151 (SNS).
 *
 * `live` is the API Gateway Management API of the live-updates WebSocket API (REST-JSON): API
 * Gateway names the error in an `x-amzn-ErrorType` header, which the SDK reads before the body
 * (@smithy/core loadRestJsonErrorCode), and words it in `{"message": …}`; an IAM refusal says
 * `{"Message": …}` (ASFHyP3/hyp3#2283). A bad signature is 403 InvalidSignatureException with the
 * canonical request AWS expected (okigan/awscurl#61, awslabs/aws-sdk-rust#300,
 * agilord/aws_client#312), an unknown key 403 UnrecognizedClientException
 * (kndt84/aws-api-gateway-client#31), an unsigned call 403 MissingAuthenticationTokenException
 * (smarty-archives/go-aws-auth#48), a path the API does not serve 403 ForbiddenException
 * `{"message":"Forbidden"}` (aws/aws-sdk-php#1955). Names the SDK does not model (all but
 * ForbiddenException, GoneException, LimitExceededException, PayloadTooLargeException) still
 * become the error's name: the SDK names an unmodelled error after its error type.
 */
import type { ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';

export type GatewayService = 'dynamodb' | 's3' | 'sns' | 'ssm' | 'live';

export const newRequestId = (): string => randomBytes(8).toString('hex').toUpperCase();

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/** A refusal in the terms of one service: the code its SDK turns into the error name. */
export interface ServiceError {
  status: number;
  code: string;
  message: string;
  /** Extra elements of an S3 error document (ProposedSize, MaxSizeAllowed…). */
  details?: Record<string, string>;
}

export function s3ErrorBody(error: ServiceError, requestId: string): string {
  const details = Object.entries(error.details ?? {})
    .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message>${details}<RequestId>${requestId}</RequestId><HostId>${Buffer.from(requestId).toString('base64')}</HostId></Error>`;
}

/** Writes `error` as `service` answers it. */
export function sendServiceError(response: ServerResponse, service: GatewayService, error: ServiceError, { head = false }: { head?: boolean } = {}): void {
  const requestId = newRequestId();
  let type: string;
  let body: string;
  switch (service) {
    case 'dynamodb':
      type = 'application/x-amz-json-1.0';
      body = JSON.stringify({ __type: `com.amazon.coral.service#${error.code}`, Message: error.message });
      break;
    case 'ssm':
      type = 'application/x-amz-json-1.1';
      body = JSON.stringify({ __type: error.code, message: error.message });
      break;
    case 'sns':
      type = 'text/xml';
      body = `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
      break;
    case 's3':
      type = 'application/xml';
      body = s3ErrorBody(error, requestId);
      break;
    case 'live':
      type = 'application/json';
      body = JSON.stringify(error.code === 'GoneException' ? {} : { [error.code === 'AccessDeniedException' ? 'Message' : 'message']: error.message });
      break;
  }
  const headers: Record<string, string> = { 'content-type': type, 'x-amzn-requestid': requestId, 'x-amz-request-id': requestId, ...(service === 'live' ? { 'x-amzn-errortype': error.code } : {}) };
  // A HEAD answer carries no body: the SDK sees only the status (S3's 403/404 to a HeadObject).
  if (head) {
    response.writeHead(error.status, headers).end();
    return;
  }
  response.writeHead(error.status, { ...headers, 'content-length': String(Buffer.byteLength(body)) }).end(body);
}

/** The words AWS uses when IAM refuses an action to a role session. */
export function notAuthorized(service: GatewayService, sessionArn: string, action: string, resource: string, explicit: boolean): ServiceError {
  if (service === 'live') {
    // API Gateway masks all but the last four digits of the account in the resource, and says
    // nothing more when no policy allows the call (e.g. "User: arn:aws:sts::207922868512:assumed-role/…
    // is not authorized to perform: execute-api:ManageConnections on resource:
    // arn:aws:execute-api:us-east-1:********8512:uuhovneo02/Prod/POST/@connections/{connectionId}").
    const masked = resource.replace(/^(arn:[^:]*:execute-api:[^:]*:)(\d*)(\d{4}):/, (_whole, head: string, hidden: string, shown: string) => `${head}${'*'.repeat(hidden.length)}${shown}:`);
    return { status: 403, code: 'AccessDeniedException', message: `User: ${sessionArn} is not authorized to perform: ${action} on resource: ${masked}${explicit ? ' with an explicit deny' : ''}` };
  }
  // SNS spells its action prefix in capitals in this message; S3 quotes the resource.
  const shownAction = service === 'sns' ? action.replace(/^sns:/, 'SNS:') : action;
  const shownResource = service === 's3' ? `"${resource}"` : resource;
  const reason = explicit ? `with an explicit deny in an identity-based policy` : `because no identity-based policy allows the ${shownAction} action`;
  const message = `User: ${sessionArn} is not authorized to perform: ${shownAction} on resource: ${shownResource} ${reason}`;
  switch (service) {
    case 'dynamodb':
    case 'ssm':
      return { status: 400, code: 'AccessDeniedException', message };
    case 'sns':
      return { status: 403, code: 'AuthorizationError', message };
    case 's3':
      return { status: 403, code: 'AccessDenied', message };
  }
}

/** PostToConnection's limit: a message of at most 128 KB (API Gateway's WebSocket quotas). */
export const LIVE_MAX_PAYLOAD_BYTES = 128 * 1024;

/** The Management API's own refusals. */
export const liveErrors = {
  /** A path under /@connections that is no call of the API (API Gateway answers a path it does not serve so). */
  forbidden: (): ServiceError => ({ status: 403, code: 'ForbiddenException', message: 'Forbidden' }),
  /** The connection is closed, or was never this API's (AWS's GoneException carries no message). */
  gone: (): ServiceError => ({ status: 410, code: 'GoneException', message: '' }),
  /** The SDK's modelled PayloadTooLargeException (413), in the words of its documentation. */
  payloadTooLarge: (): ServiceError => ({ status: 413, code: 'PayloadTooLargeException', message: 'The data has exceeded the maximum size allowed.' }),
  /** A signature that does not match, with what AWS expected to be signed (as API Gateway shows it). */
  signatureMismatch: (canonicalRequest: string, stringToSign: string): ServiceError => ({
    status: 403,
    code: 'InvalidSignatureException',
    message: `The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'${canonicalRequest}'\n\nThe String-to-Sign should have been\n'${stringToSign}'\n`,
  }),
  /** A request signed for another service or region than the API's. */
  wrongScope: (what: 'service' | 'region', value: string): ServiceError => ({
    status: 403,
    code: 'InvalidSignatureException',
    message: what === 'service' ? "Credential should be scoped to correct service: 'execute-api'. " : `Credential should be scoped to a valid region, not '${value}'. `,
  }),
};

/** An access key nobody issued, or a signature that does not match, in each service's words. */
export function notAuthenticated(service: GatewayService, problem: 'unknown-key' | 'bad-signature' | 'missing' | 'expired', detail?: string): ServiceError {
  const invalidToken = 'The security token included in the request is invalid.';
  const mismatch = 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
  switch (service) {
    case 'dynamodb':
    case 'ssm':
      if (problem === 'unknown-key') return { status: 400, code: 'UnrecognizedClientException', message: invalidToken };
      if (problem === 'missing') return { status: 400, code: 'MissingAuthenticationTokenException', message: 'Request is missing Authentication Token' };
      return { status: 400, code: 'InvalidSignatureException', message: detail ?? mismatch };
    case 'sns':
      if (problem === 'unknown-key') return { status: 403, code: 'InvalidClientTokenId', message: invalidToken };
      if (problem === 'missing') return { status: 403, code: 'MissingAuthenticationToken', message: 'Request is missing Authentication Token' };
      return { status: 403, code: 'SignatureDoesNotMatch', message: detail ?? mismatch };
    case 'live':
      if (problem === 'unknown-key') return { status: 403, code: 'UnrecognizedClientException', message: invalidToken };
      if (problem === 'missing') return { status: 403, code: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
      return { status: 403, code: 'InvalidSignatureException', message: detail ?? mismatch };
    case 's3':
      if (problem === 'unknown-key') return { status: 403, code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' };
      if (problem === 'missing') return { status: 403, code: 'AccessDenied', message: 'Access Denied' };
      if (problem === 'expired') return { status: 403, code: 'AccessDenied', message: 'Request has expired' };
      return { status: 403, code: 'SignatureDoesNotMatch', message: detail ?? 'The request signature we calculated does not match the signature you provided. Check your key and signing method.' };
  }
}
