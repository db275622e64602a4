import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, QueryCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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

/**
 * The keys (pk, sk) of a partition, a page at a time; `skPrefix` narrows them to one kind of item.
 * Strongly consistent: the callers delete what they find (revoking sessions, deleting an account),
 * and an item written just before must not be missed by an eventually consistent read.
 */
export async function* partitionKeyPages(client: DynamoDBDocumentClient, tableName: string, pk: string, skPrefix?: string): AsyncGenerator<Key[]> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: skPrefix === undefined ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ...(skPrefix === undefined ? {} : { ':prefix': skPrefix }) },
        ProjectionExpression: 'pk, sk',
        ConsistentRead: true,
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

type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;

/**
 * One TransactWriteItems, retried (jittered) while it conflicts with another transaction on the
 * same items: once that settles, the conditions decide. Returns undefined when it was written,
 * or the cancellation reason of each entry (`None`, `ConditionalCheckFailed`) when a condition
 * failed; 503 for anything else a cancellation reports, or when the conflicts do not end.
 */
export async function transactWrite(client: DynamoDBDocumentClient, items: TransactItems): Promise<string[] | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.send(new TransactWriteCommand({ TransactItems: items }));
      return undefined;
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
      if (codes.includes('TransactionConflict')) {
        if (attempt >= 6) throw new ServiceUnavailable(1);
        await pause(15 * attempt + Math.random() * 25);
        continue;
      }
      if (codes.every((code) => code === 'None' || code === 'ConditionalCheckFailed')) return codes;
      throw new ServiceUnavailable(1);
    }
  }
}
