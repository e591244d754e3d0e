/**
 * `npm run bench:roles`: the CPU one RBAC decision costs once the roles are compiled: 50 roles
 * with 10 grants each (500 grants, wildcards on both sides, inheritance chains), a user with
 * three roles. Prints µs per check for a hit on an exact grant, a miss, and a wildcard hit.
 * Goal: under 1 µs per check.
 */
import pino from 'pino';
import { buildModel } from '../src/plugins/roles/model.js';
import { rolesOptionsSchema } from '../src/plugins/roles/options.js';
import { RbacEngine } from '../src/plugins/roles/rbac.js';
import { rolesService } from '../src/plugins/roles/service.js';

const ROLES = 50;
const GRANTS_PER_ROLE = 10;
const ROUNDS = 5;
const PER_ROUND = 1_000_000;

const permissions: Record<string, string[]> = {};
const roles: Record<string, { inherits: string[] }> = {};
for (let role = 0; role < ROLES; role++) {
  const grants = Array.from(
    { length: GRANTS_PER_ROLE - 2 },
    (_, index) => `act${index}:res${role}`,
  );
  grants.push(`read${role}:*`, `*:logs${role}`);
  permissions[`role${role}`] = grants;
  // Chains of five: role4 inherits role3 ... role0, so wildcards come from ancestors too.
  if (role % 5 !== 0) roles[`role${role}`] = { inherits: [`role${role - 1}`] };
}
const config = rolesOptionsSchema.parse({ permissions, roles });
const { service } = rolesService(
  'rbac',
  buildModel(config, undefined, (compiled) => new RbacEngine(compiled)),
  pino({ level: 'silent' }),
);
const grantCount = Object.values(permissions).reduce((sum, list) => sum + list.length, 0);

const user = {
  id: 'jwt|bench',
  provider: 'jwt',
  issuer: 'https://id.example',
  subject: 'bench',
  roles: ['role12', 'role27', 'role49'],
  permissions: [],
  claims: {},
};

function measure(permission: string, expected: boolean): number {
  if (service.can(user, permission) !== expected)
    throw new Error(`${permission}: expected ${expected ? 'allowed' : 'refused'}`);
  const results: number[] = [];
  let allowed = 0;
  for (let round = 0; round < ROUNDS + 1; round++) {
    const started = process.cpuUsage();
    for (let index = 0; index < PER_ROUND; index++) if (service.can(user, permission)) allowed++;
    const used = process.cpuUsage(started);
    if (round > 0) results.push((used.user + used.system) / PER_ROUND);
  }
  if (allowed !== (expected ? PER_ROUND * (ROUNDS + 1) : 0)) throw new Error('decisions changed');
  results.sort((a, b) => a - b);
  return results[Math.floor(results.length / 2)];
}

// The last of the user's roles, so the first two are looked up and missed first.
const hit = measure('act3:res49', true);
const miss = measure('write:billing', false);
// `read45:*`, inherited by role49 from role45 four levels up.
const wildcard = measure('read45:invoices', true);
console.log(
  `roles check (rbac, ${ROLES} roles, ${grantCount} grants, user with 3 roles): ` +
    `hit ${hit.toFixed(3)} µs, miss ${miss.toFixed(3)} µs, wildcard hit ${wildcard.toFixed(3)} µs ` +
    `CPU per check (median of ${ROUNDS} rounds of ${PER_ROUND}; goal < 1 µs)`,
);
process.exit(0);
