import { BatchWriteCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ServiceUnavailable } from '../http/errors';

type Key = { pk: string; sk: string };

export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `work` over `items` with at most `limit` at a time. */
export async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++] as T);
  });
  await Promise.all(runners);
}

/** The keys (pk, sk) of a partition, a page at a time; `skPrefix` narrows them to one kind of item. */
export async function* partitionKeyPages(client: DynamoDBDocumentClient, tableName: string, pk: string, skPrefix?: string): AsyncGenerator<Key[]> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: skPrefix === undefined ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ...(skPrefix === undefined ? {} : { ':prefix': skPrefix }) },
        ProjectionExpression: 'pk, sk',
        ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
      }),
    );
    startKey = page.LastEvaluatedKey;
    yield (page.Items ?? []).map((item) => ({ pk: item['pk'] as string, sk: item['sk'] as string }));
  } while (startKey !== undefined);
}

/**
 * Deletes `keys` with BatchWriteItem, 25 a request and `parallel` requests at a time, sending
 * what DynamoDB leaves unprocessed again with backoff; 503 once it has refused `maxAttempts` times.
 */
export async function batchDeleteKeys(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: Key[],
  { maxAttempts = 8, parallel = 1 }: { maxAttempts?: number; parallel?: number } = {},
): Promise<void> {
  const chunks: Key[][] = [];
  for (let i = 0; i < keys.length; i += 25) chunks.push(keys.slice(i, i + 25));
  await inParallel(chunks, parallel, async (chunk) => {
    let requests = chunk.map((key) => ({ DeleteRequest: { Key: { pk: key.pk, sk: key.sk } } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt >= maxAttempts) throw new ServiceUnavailable(1);
      if (attempt > 0) await pause(25 * 2 ** attempt);
      const { UnprocessedItems } = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
      requests = (UnprocessedItems?.[tableName] ?? []) as typeof requests;
    }
  });
}
