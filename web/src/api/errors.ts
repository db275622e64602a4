/** What went wrong, in words a person understands: from the API's error codes, never its raw text. */
export interface ApiErrorBody {
  error?: { code?: string; message?: string; details?: { path: string; message: string }[]; existingId?: string };
}

const MESSAGES: Record<string, string> = {
  invalid_credentials: 'That email and password do not match an account.',
  too_many_attempts: 'Too many attempts. Please wait a little and try again.',
  email_taken: 'An account with this email already exists. Try signing in.',
  invalid_password: 'That password is not right.',
  duplicate: 'This file is already in your library.',
  payload_too_large: 'This file is too large.',
  unsupported_media_type: 'This kind of file cannot be added: photos (JPEG, PNG, WebP, GIF) and videos (MP4, MOV) can.',
  media_not_found: 'This item no longer exists.',
  media_not_ready: 'This item is still being processed.',
  not_an_image: 'Only photos can be compared.',
  precondition_failed: 'Someone changed this in the meantime.',
  concurrent_update: 'Someone changed this in the meantime. Please try again.',
  invalid_refresh_token: 'Your session has ended. Please sign in again.',
  service_unavailable: 'The service is busy right now. Please try again in a moment.',
  unauthenticated: 'Your session has ended. Please sign in again.',
  validation_failed: 'Some of what you entered is not valid.',
};

const STATUS_MESSAGES: Record<number, string> = {
  401: MESSAGES['unauthenticated'] as string,
  404: 'Not found: it may have been deleted.',
  413: MESSAGES['payload_too_large'] as string,
  415: MESSAGES['unsupported_media_type'] as string,
  429: MESSAGES['too_many_attempts'] as string,
};

/** A sentence for the person, from an API error body and status. */
export function describeError(status: number, body?: ApiErrorBody | null): string {
  const code = body?.error?.code;
  if (code === 'validation_failed' && body?.error?.details?.length) {
    const detail = body.error.details[0] as { path: string; message: string };
    return `${fieldName(detail.path)}: ${detail.message}`;
  }
  if (code !== undefined && MESSAGES[code] !== undefined) return MESSAGES[code];
  if (STATUS_MESSAGES[status] !== undefined) return STATUS_MESSAGES[status];
  if (status >= 500 || status === 0) return 'Something went wrong on our side. Nothing was lost; please try again.';
  return body?.error?.message ?? 'That did not work. Please try again.';
}

/** A network failure (offline, connection reset) in words. */
export const NETWORK_ERROR = 'Cannot reach the service. Check your connection; nothing was lost.';

function fieldName(path: string): string {
  const last = path.split('.').pop() ?? path;
  return last === '' ? 'Input' : last.charAt(0).toUpperCase() + last.slice(1);
}
