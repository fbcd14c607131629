// `rtap tenants …` and `rtap keys …`: control-plane records in the compacted `control` topic.
import { Command, InvalidArgumentError } from 'commander';
import { config } from '../core/config';
import { ControlPlane, TENANT_ID_PATTERN, type Role } from '../core/control';
import { createKafka } from '../core/kafka';
import { createLogger } from '../core/logger';

const ROLES: Role[] = ['ingest', 'read', 'admin'];

async function withControl<T>(fn: (control: ControlPlane) => Promise<T>): Promise<T> {
  const control = new ControlPlane(createKafka(config().kafka), createLogger('control'));
  await control.start();
  try {
    return await fn(control);
  } finally {
    await control.stop();
  }
}

function parseRoles(value: string): Role[] {
  const roles = value.split(',').map((r) => r.trim());
  for (const r of roles) if (!(ROLES as string[]).includes(r)) throw new InvalidArgumentError(`unknown role "${r}" (expected ${ROLES.join(', ')})`);
  return roles as Role[];
}

export function registerControlCommands(program: Command): void {
  const tenants = program.command('tenants').description('register and list tenants (control topic)');
  tenants
    .command('add')
    .description('register tenants (or re-activate them); ids are lowercase letters, digits, _ and -')
    .argument('<tenant_ids...>', 'one or more tenant ids')
    .option('--name <name>', 'display name (with a single id)')
    .action(async (ids: string[], opts: { name?: string }) => {
      for (const id of ids) if (!TENANT_ID_PATTERN.test(id)) throw new InvalidArgumentError(`invalid tenant id "${id}": expected ${TENANT_ID_PATTERN}`);
      await withControl(async (control) => {
        const records = await control.putTenants(ids.map((id) => ({ tenant_id: id, name: ids.length === 1 ? opts.name : undefined })));
        process.stdout.write(`registered ${records.length} tenant(s)\n`);
      });
    });
  tenants
    .command('list')
    .description('list registered tenants')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      await withControl(async (control) => {
        const list = [...control.state.tenants.values()].sort((a, b) => a.tenant_id.localeCompare(b.tenant_id));
        if (opts.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        else for (const t of list) process.stdout.write(`${t.tenant_id}\t${t.status}\t${t.name}\t${t.retention_days === undefined ? 'retention: none' : `retention: ${t.retention_days} d`}\n`);
      });
    });
  tenants
    .command('retention')
    .description("set how many days a tenant's events are kept in the lake (applied daily by rtap-retention-daily), or `off`")
    .argument('<tenant_id>', 'a registered tenant')
    .argument('<days>', 'whole days, or off')
    .action(async (id: string, days: string) => {
      const value = days === 'off' ? null : Number(days);
      if (value !== null && (!Number.isInteger(value) || value < 1)) throw new InvalidArgumentError(`days: expected whole days ≥ 1 or off, got ${JSON.stringify(days)}`);
      await withControl(async (control) => {
        const record = await control.setRetention(id, value);
        process.stdout.write(`${record.tenant_id}: ${record.retention_days === undefined ? 'no retention limit' : `events kept ${record.retention_days} days`}\n`);
      });
    });

  const keys = program.command('keys').description('API keys (stored only as hashes in the control topic)');
  keys
    .command('create')
    .description('create an API key and print it once')
    .requiredOption('--tenant <tenant_id>', 'the tenant the key acts for, or * for a platform key (any registered tenant)')
    .option('--roles <roles>', `comma-separated: ${ROLES.join(', ')}`, parseRoles, ['ingest', 'read'] as Role[])
    .option('--label <label>', 'what the key is for', 'cli')
    .action(async (opts: { tenant: string; roles: Role[]; label: string }) => {
      await withControl(async (control) => {
        const { apiKey, record } = await control.createApiKey(opts.tenant, opts.roles, opts.label);
        process.stderr.write(`created key for ${record.tenant_id} with roles ${record.roles.join(',')}; it is shown only now:\n`);
        process.stdout.write(`${apiKey}\n`);
      });
    });
}
