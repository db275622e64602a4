import { memoryMediaStore } from '../../local/test/fakes';
import { mediaStoreContract } from '../../local/test/contracts/mediaStore';

describe('MediaStore contract: in-memory fake used by unit tests', () => mediaStoreContract(async () => memoryMediaStore()));
