import { isDependencyFailure } from '../http/errorResponse';

/**
 * Runs `work` again after a passing dependency failure (throttling, a 5xx, a timeout that got
 * past the SDK's own retries, e.g. once its retry quota is spent), with jittered exponential
 * backoff. For event handlers: each of Lambda's retries of an event costs a whole invocation and
 * minutes of delay, and where no one retries (serverless-offline's S3 and SNS stand-ins) a
 * failed record is simply lost. Anything else, and the last failure, is thrown.
 */
export async function retryTransient<T>(work: () => Promise<T>, options: { attempts?: number; baseDelayMs?: number } = {}): Promise<T> {
  const attempts = options.attempts ?? 3;
  const base = options.baseDelayMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !isDependencyFailure(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, base * 2 ** (attempt - 1) * (0.5 + Math.random())));
    }
  }
}
