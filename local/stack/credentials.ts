import { LOCAL_SECRET_ACCESS_KEY, LOCAL_TOOLING_ACCESS_KEY } from '../../shared/aws/localCredentials';

/**
 * The credentials of local tooling (the harness, seeds, checks, benchmarks) at the local AWS
 * gateway: accepted everywhere, bound by no function's role. Functions sign as themselves.
 */
export const TOOLING_CREDENTIALS = { accessKeyId: LOCAL_TOOLING_ACCESS_KEY, secretAccessKey: LOCAL_SECRET_ACCESS_KEY } as const;
