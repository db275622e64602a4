/**
 * What a million requests of each endpoint cost on AWS, from the measured warm durations, the
 * configured memory and the consumed capacity measured per request. Prices are assumptions,
 * stated with their date and region in the report; free tiers are ignored.
 */
import type { RoundTripRow } from './results';

export interface Prices {
  region: string;
  asOf: string;
  architecture: 'x86_64' | 'arm64';
  /** USD per GB-second of Lambda duration, for the architecture above. */
  lambdaGbSecond: number;
  /** USD per million Lambda requests. */
  lambdaRequestsPerMillion: number;
  /** USD per million HTTP API requests (first 300 million a month). */
  httpApiPerMillion: number;
  /** DynamoDB on-demand, USD per million read / write request units. */
  readUnitsPerMillion: number;
  writeUnitsPerMillion: number;
}

/** us-east-1 list prices (x86_64: serverless.yml sets no architecture, so Lambda's default). */
export const PRICES: Prices = {
  region: 'us-east-1',
  asOf: '2025 list prices (DynamoDB on-demand after the November 2024 reduction)',
  architecture: 'x86_64',
  lambdaGbSecond: 0.0000166667,
  lambdaRequestsPerMillion: 0.2,
  httpApiPerMillion: 1.0,
  readUnitsPerMillion: 0.125,
  writeUnitsPerMillion: 0.625,
};

/** arm64 (Graviton) would cost this per GB-second instead. */
export const ARM64_GB_SECOND = 0.0000133334;

export interface CostLine {
  route: string;
  scenario: string;
  functionName: string;
  memoryMB: number;
  /** Warm p50 duration measured, and what Lambda bills (rounded up to the millisecond). */
  durationMs: number;
  billedMs: number;
  /** Per million requests. */
  gbSeconds: number;
  lambdaUsd: number;
  readUnits: number;
  writeUnits: number;
  dynamoUsd: number;
  /** The Lambda authorizer's invocation (and its session read) in front of a protected route. */
  authorizerUsd: number;
  httpApiUsd: number;
  totalUsd: number;
}

const MILLION = 1_000_000;

export interface CostOptions {
  memoryMB: Record<string, number>;
  /** Functions behind the Lambda authorizer (invoked on every request: its cache is off). */
  protectedFunctions: string[];
  /** Functions behind an HTTP API route (the others are invoked by S3, SNS or the schedule). */
  httpFunctions: string[];
  prices?: Prices;
}

function lambdaCost(durationMs: number, memoryMB: number, prices: Prices): { billedMs: number; gbSeconds: number; usd: number } {
  const billedMs = Math.max(1, Math.ceil(durationMs));
  const gbSeconds = (MILLION * billedMs * memoryMB) / 1000 / 1024;
  return { billedMs, gbSeconds, usd: gbSeconds * prices.lambdaGbSecond + prices.lambdaRequestsPerMillion };
}

const dynamoCost = (readUnits: number, writeUnits: number, prices: Prices): number => readUnits * prices.readUnitsPerMillion + writeUnits * prices.writeUnitsPerMillion;

/** One line per measured request (the authorizer's own row is folded into the protected routes). */
export function costLines(rows: RoundTripRow[], options: CostOptions): CostLine[] {
  const prices = options.prices ?? PRICES;
  const authorizerRow = rows.find((row) => row.functionName === 'authorizer');
  const authorizerUsd =
    authorizerRow === undefined
      ? Number.NaN
      : lambdaCost(authorizerRow.durationMs.median, options.memoryMB['authorizer'] ?? Number.NaN, prices).usd + dynamoCost(authorizerRow.readUnits, authorizerRow.writeUnits, prices);
  return rows
    .filter((row) => row.functionName !== 'authorizer')
    .map((row) => {
      const memoryMB = options.memoryMB[row.functionName] ?? Number.NaN;
      const lambda = lambdaCost(row.durationMs.median, memoryMB, prices);
      const dynamoUsd = dynamoCost(row.readUnits, row.writeUnits, prices);
      const authorizer = options.protectedFunctions.includes(row.functionName) ? authorizerUsd : 0;
      const httpApiUsd = options.httpFunctions.includes(row.functionName) ? prices.httpApiPerMillion : 0;
      return {
        route: row.route,
        scenario: row.scenario,
        functionName: row.functionName,
        memoryMB,
        durationMs: row.durationMs.median,
        billedMs: lambda.billedMs,
        gbSeconds: lambda.gbSeconds,
        lambdaUsd: lambda.usd,
        readUnits: row.readUnits,
        writeUnits: row.writeUnits,
        dynamoUsd,
        authorizerUsd: authorizer,
        httpApiUsd,
        totalUsd: lambda.usd + dynamoUsd + authorizer + httpApiUsd,
      };
    });
}
