/**
 * The stand-ins the in-process benchmarks talk to: DynamoDB Local (in memory, tables from
 * serverless.yml) and s3rver (buckets from serverless.yml, objects in a temporary folder), behind
 * the local AWS gateway, on free loopback ports. s3rver runs in this (the orchestrating) process, which only waits while
 * the measuring happens in child processes. `stop()` ends both and removes the folder.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocalGateways, type LocalGateways } from '../gateway';
import { ensureTables, startDynamoDbLocal, type RunningDynamoDb } from '../stack/dynamodb';
import { freePortsSync } from '../stack/ports';
import { killNow } from '../stack/processes';
import { startS3Local, type RunningS3 } from '../stack/s3';
import { serviceConfig } from '../stack/serviceConfig';

export interface BenchStack {
  dynamodbEndpoint: string;
  s3Endpoint: string;
  /** The Java process of DynamoDB Local (for the process check at the end). */
  dynamodbPid: number | undefined;
  stop(): Promise<void>;
}

export async function startBenchStack(): Promise<BenchStack> {
  const config = serviceConfig('local');
  const [dynamodbPort, s3Port] = freePortsSync(2) as [number, number];
  let gateways: LocalGateways | undefined;
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-bench-s3-'));
  let dynamo: RunningDynamoDb | undefined;
  let s3: RunningS3 | undefined;
  const lastResort = (): void => killNow(dynamo?.process);
  process.on('exit', lastResort);
  const stop = async (): Promise<void> => {
    await gateways?.stop();
    await s3?.stop();
    await dynamo?.stop();
    process.off('exit', lastResort);
    fs.rmSync(directory, { recursive: true, force: true });
  };
  try {
    dynamo = await startDynamoDbLocal({ port: dynamodbPort });
    await ensureTables(dynamo.endpoint, config);
    s3 = await startS3Local({ port: s3Port, directory, config });
    // The functions reach the stand-ins through the local AWS gateway, as everywhere else.
    gateways = await startLocalGateways({ backends: { dynamodb: dynamo.endpoint, s3: s3.endpoint } });
  } catch (error) {
    await stop();
    throw error;
  }
  return { dynamodbEndpoint: gateways.endpoints.dynamodb as string, s3Endpoint: gateways.endpoints.s3 as string, dynamodbPid: dynamo.process.pid, stop };
}
