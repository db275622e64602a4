/**
 * Signing keys for AWS stages (docs/security.md):
 *
 *   npm run jwt-keys -- new --stage dev --out /tmp/keys
 *   npm run jwt-keys -- rotate --stage dev --private /tmp/old-private.json --out /tmp/keys
 *
 * writes private.json (for the SecureString parameter) and public.json (the JWKS), and prints
 * the `aws ssm put-parameter` commands for the stage's parameter path. Keys never touch the repo.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import type { PrivateKeysDocument } from '../shared/auth/keys';
import { newSigningKey, publicJwks, rotate } from './stack/keys';
import { REPO_ROOT } from './stack/serviceConfig';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { stage: { type: 'string' }, out: { type: 'string' }, private: { type: 'string' } },
});
const command = positionals[0];
const stage = values.stage;
const out = values.out;
if ((command !== 'new' && command !== 'rotate') || stage === undefined || out === undefined || (command === 'rotate' && values.private === undefined)) {
  console.error('usage: jwt-keys new --stage <stage> --out <dir> | jwt-keys rotate --stage <stage> --private <current private.json> --out <dir>');
  process.exit(2);
}
const stageFile = path.join(REPO_ROOT, 'shared', 'config', 'stages', `${stage}.yml`);
const parameterPath = (parse(fs.readFileSync(stageFile, 'utf8')) as { jwt: { parameterPath: string } }).jwt.parameterPath;

const document: PrivateKeysDocument =
  command === 'new' ? { keys: [newSigningKey()] } : rotate(JSON.parse(fs.readFileSync(values.private as string, 'utf8')) as PrivateKeysDocument);
fs.mkdirSync(out, { recursive: true, mode: 0o700 });
const privateFile = path.join(out, 'private.json');
const publicFile = path.join(out, 'public.json');
fs.writeFileSync(privateFile, JSON.stringify(document), { mode: 0o600 });
fs.writeFileSync(publicFile, JSON.stringify(publicJwks(document)));
console.log(`current key ${document.keys[0]?.kid}${document.keys[1] ? `, previous ${document.keys[1].kid}` : ''}`);
console.log('1. Publish the public keys, so every verifier knows the new key before anything is signed with it:');
console.log(`   aws ssm put-parameter --overwrite --type String --name ${parameterPath}/public --value file://${publicFile}`);
console.log('2. Wait at least 5 minutes (functions cache keys for 5 minutes), then switch the signing key:');
console.log(`   aws ssm put-parameter --overwrite --type SecureString --name ${parameterPath}/private --value file://${privateFile}`);
console.log(`3. Delete ${out}.`);
