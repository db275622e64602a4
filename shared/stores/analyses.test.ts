import { analysisStoreContract } from '../../local/test/contracts/analysisStore';
import { memoryAnalysisStore } from '../../local/test/fakes';

describe('AnalysisStore contract: in-memory fake used by unit tests', () => analysisStoreContract(async () => memoryAnalysisStore()));
