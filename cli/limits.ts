// `rtap limits set|show <tenant>`: a tenant's rate limits and quotas, kept as its `limits/<tenant>`
// record in the control topic; every API process applies a change at its next request.
import { Command, InvalidArgumentError } from 'commander';
import { config } from '../core/config';
import { ControlPlane } from '../core/control';
import { createKafka } from '../core/kafka';
import { LIMIT_NAMES, effectiveLimits, type LimitName } from '../core/limits';
import { setTenantLimits, storedOverrides, type LimitsPatch } from '../core/limits-control';
import { createLogger } from '../core/logger';

async function withControl<T>(fn: (control: ControlPlane) => Promise<T>): Promise<T> {
  const control = new ControlPlane(createKafka(config().kafka), createLogger('limits'));
  await control.start();
  try {
    return await fn(control);
  } finally {
    await control.stop();
  }
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected a whole number ≥ 0, got "${value}"`);
  return n;
}

function limitName(value: string, previous: LimitName[] = []): LimitName[] {
  const name = value.replace(/-/g, '_');
  if (!(LIMIT_NAMES as readonly string[]).includes(name)) throw new InvalidArgumentError(`unknown limit "${value}" (expected ${LIMIT_NAMES.join(', ')})`);
  return [...previous, name as LimitName];
}

/** `requests_per_second` → `--requests-per-second` and the camelCase key commander gives it. */
const flag = (name: string) => `--${name.replace(/_/g, '-')}`;
const camel = (name: string) => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

const HELP: Record<LimitName, string> = {
  requests_per_second: "the tenant's request rate, all its keys together (token bucket refill per second)",
  burst: "the tenant's bucket size: requests it may send at once",
  key_requests_per_second: 'each key of the tenant: its own request rate',
  key_burst: 'each key of the tenant: its own bucket size',
  events_per_day: 'events accepted by POST /api/v2/events/batch per UTC day (0 stops ingestion)',
  query_cost_per_minute: "analytics query cost units per minute, cost = time cells a query spans at its grain (0 stops queries)",
};

function printLimits(tenant: string, overrides: Partial<Record<LimitName, number>>, json: boolean): void {
  const effective = effectiveLimits(config().limits.defaults, overrides);
  if (json) {
    process.stdout.write(`${JSON.stringify({ tenant_id: tenant, limits: effective, overrides }, null, 2)}\n`);
    return;
  }
  for (const name of LIMIT_NAMES) process.stdout.write(`${tenant}\t${name.padEnd(24)}${String(effective[name]).padStart(14)}  ${name in overrides ? 'set' : 'default'}\n`);
}

export function registerLimitsCommands(program: Command): void {
  const limits = program.command('limits').description("a tenant's rate limits and quotas (control topic; applied at run time, no restart)");
  const set = limits
    .command('set')
    .description('set some of a tenant\'s limits (the others keep their value); --default <name> returns one to the default')
    .argument('<tenant_id>', 'a registered tenant')
    .option('--default <name>', 'return this limit to its default (repeatable)', limitName, [] as LimitName[])
    .option('--json', 'machine-readable output');
  for (const name of LIMIT_NAMES) set.option(`${flag(name)} <n>`, HELP[name], wholeNumber);
  set.action(async (tenant: string, opts: Record<string, unknown> & { default: LimitName[]; json?: boolean }) => {
    const patch: LimitsPatch = {};
    for (const name of LIMIT_NAMES) if (typeof opts[camel(name)] === 'number') patch[name] = opts[camel(name)] as number;
    for (const name of opts.default) {
      if (name in patch) throw new InvalidArgumentError(`${name}: both set and returned to the default`);
      patch[name] = null;
    }
    if (Object.keys(patch).length === 0) throw new InvalidArgumentError(`nothing to change: give at least one of ${LIMIT_NAMES.map(flag).join(', ')} or --default <name>`);
    await withControl(async (control) => {
      const { overrides } = await setTenantLimits(control, tenant, patch, config().limits.defaults);
      printLimits(tenant, overrides, opts.json === true);
    });
  });
  limits
    .command('show')
    .description("a tenant's limits in force: its overrides and the defaults (LIMIT_* settings); usage: GET /api/v2/admin/tenants/{id}/usage")
    .argument('<tenant_id>', 'a tenant')
    .option('--json', 'machine-readable output')
    .action(async (tenant: string, opts: { json?: boolean }) => {
      await withControl(async (control) => printLimits(tenant, storedOverrides(control, tenant), opts.json === true));
    });
}
