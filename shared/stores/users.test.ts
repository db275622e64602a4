import { memoryUserStore } from '../../local/test/fakes';
import { userStoreContract } from '../../local/test/contracts/userStore';

describe('UserStore contract: in-memory fake used by unit tests', () => userStoreContract(async () => memoryUserStore()));
