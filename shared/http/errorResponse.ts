import { HttpError, ServiceUnavailable, type ErrorDetail } from './errors';
import type { HttpResult } from './handler';

export interface ErrorBody {
  error: { code: string; message: string; details?: ErrorDetail[]; requestId?: string; [extra: string]: unknown };
}

const THROTTLING_ERRORS = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'SlowDown',
  'TransactionInProgressException',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * A failure of DynamoDB, S3, SNS or the network rather than of the request:
 * answered with 503 + Retry-After so well-behaved clients back off and retry.
 */
export function isDependencyFailure(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { name?: unknown; code?: unknown; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (typeof candidate.name === 'string' && THROTTLING_ERRORS.has(candidate.name)) return true;
  if (typeof candidate.code === 'string' && NETWORK_ERRORS.has(candidate.code)) return true;
  if (candidate.$retryable !== undefined) return true;
  const status = candidate.$metadata?.httpStatusCode;
  return typeof status === 'number' && status >= 500;
}

/** The one mapping from a thrown value to the error body of DESIGN.md. 5xx bodies stay generic. */
export function toErrorResponse(error: unknown, requestId: string): HttpResult<ErrorBody> {
  const mapped = error instanceof HttpError ? error : isDependencyFailure(error) ? new ServiceUnavailable() : undefined;
  if (mapped === undefined) {
    return {
      status: 500,
      body: { error: { code: 'internal_error', message: 'Internal error; quote the request id when reporting it', requestId } },
    };
  }
  return {
    status: mapped.status,
    headers: mapped.headers,
    body: {
      error: {
        code: mapped.code,
        message: mapped.message,
        ...(mapped.details === undefined ? {} : { details: mapped.details }),
        ...mapped.extra,
        ...(mapped.status >= 500 ? { requestId } : {}),
      },
    },
  };
}
