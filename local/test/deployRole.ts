/**
 * What the stage-command tests check of every AWS call a deploy stage made (local/test/fakeAws.ts
 * records them): the stage assumed its role of aws-deployers.template with the agent's own
 * credentials, every other call was signed with that role's credentials, and IAM (the local
 * gateway's simulator) allows each one under the role's policy. An empty list: all is well.
 */
import { DELIVERY, deployerRoleName, type DeployerRole } from '../delivery/pipelines';
import { deployerRole } from '../delivery/deployers';
import { decide } from '../gateway/authorize';
import type { RecordedCall } from './fakeAws';

type Stage = 'dev' | 'test' | 'prod';
/** Calls no IAM permission governs. */
const UNGOVERNED = new Set(['sts:GetCallerIdentity']);

export async function problemsWithTheDeployRole(calls: RecordedCall[], target: Stage, kind: DeployerRole = 'deploy'): Promise<string[]> {
  const problems: string[] = [];
  const profileRole = `arn:aws:iam::${DELIVERY.accounts[target]}:role/${deployerRoleName(kind, target)}`;
  const role = deployerRole(kind === 'deploy' ? 'DeployRole' : 'EnvironmentRole', { Stage: target, AgentRoleArn: DELIVERY.agentRoleArn, MediaBucketName: DELIVERY.mediaBuckets[target] });
  const signed = calls.filter((call) => call.service !== 'container-credentials');
  const assumptions = signed.filter((call) => call.action === 'sts:AssumeRole');
  if (assumptions.length === 0) problems.push('no role was assumed');
  for (const call of assumptions) {
    if (call.principal !== 'agent') problems.push(`AssumeRole signed by ${String(call.principal)}, not the agent's own credentials`);
    if (call.resource !== profileRole) problems.push(`assumed ${String(call.resource)}, not ${profileRole}`);
  }
  for (const call of signed.filter((candidate) => candidate.action !== 'sts:AssumeRole')) {
    const what = `${call.service} ${call.method} ${call.path}`;
    if (call.principal !== profileRole) problems.push(`${what}: signed by ${String(call.principal)}, not the assumed ${profileRole}`);
    if (call.action === undefined) {
      if (call.service !== 'sts') problems.push(`${what}: a call the fake AWS cannot name an IAM action for`);
      continue;
    }
    if (UNGOVERNED.has(call.action)) continue;
    const decision = await decide(role, { action: call.action, resource: call.resource ?? '*' });
    if (decision !== 'Allowed') problems.push(`${what}: ${call.action} on ${String(call.resource)} is ${decision} for ${role.roleName}`);
  }
  return problems;
}
