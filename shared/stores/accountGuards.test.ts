import { accountGuardsContract } from '../../local/test/contracts/accountGuards';
import { memoryAnalysisStore, memoryMediaStore, memorySessionStore, memoryUserStore } from '../../local/test/fakes';

describe('account guards: in-memory fakes used by unit tests', () =>
  accountGuardsContract(async () => {
    const users = memoryUserStore();
    const media = memoryMediaStore(users);
    return { users, sessions: memorySessionStore(users), media, analyses: memoryAnalysisStore(media) };
  }));
