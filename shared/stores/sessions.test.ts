import { memorySessionStore } from '../../local/test/fakes';
import { sessionStoreContract } from '../../local/test/contracts/sessionStore';

describe('SessionStore contract: in-memory fake used by unit tests', () => sessionStoreContract(async () => memorySessionStore()));
