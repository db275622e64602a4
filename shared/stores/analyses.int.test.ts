import { analysisStoreContract } from '../../local/test/contracts/analysisStore';
import { localStack } from '../../local/test/stack';
import { dynamo } from '../aws/dynamo';
import { requireEnv } from '../config/env';
import { dynamoAnalysisStore } from './analyses';

describe('AnalysisStore contract: DynamoDB (DynamoDB Local)', function () {
  this.timeout(60_000);
  before(async () => {
    await localStack();
  });

  analysisStoreContract(async () => dynamoAnalysisStore(dynamo, requireEnv('ANALYSES_TABLE')));
});
