/**
 * Configuration comes from the Lambda environment (set per stage by serverless.yml).
 * Read it once, at module scope, so a missing setting fails the function's
 * initialisation loudly instead of surfacing as a strange error mid-request.
 */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConfigurationError(`Missing required environment variable ${name}`);
  }
  return value;
}

/** An optional setting; empty strings count as unset (serverless.yml writes '' on AWS stages). */
export function optionalEnv(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

export function requireIntEnv(name: string, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number {
  const raw = requireEnv(name);
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(`Environment variable ${name} must be an integer in [${min}, ${max}], got "${raw}"`);
  }
  return value;
}

export function listEnv(name: string): string[] {
  return (optionalEnv(name) ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}
