// `rtap tenants …` and `rtap keys …`: control-plane records in the compacted `control` topic.
import { Command, InvalidArgumentError } from 'commander';
import { config } from '../core/config';
import { ControlPlane, ROLES, TENANT_ID_PATTERN, upcastRoles, type Role } from '../core/control';
import { InputError } from '../core/errors';
import { createKafka } from '../core/kafka';
import { createLogger } from '../core/logger';
import { keySummaries, parseExpiry, type KeySummary } from '../serving/security/key-admin';

async function withControl<T>(fn: (control: ControlPlane) => Promise<T>): Promise<T> {
  const control = new ControlPlane(createKafka(config().kafka), createLogger('control'));
  await control.start();
  try {
    return await fn(control);
  } finally {
    await control.stop();
  }
}

/** Comma-separated roles; `read` (the old name) still means viewer + analyst. */
function parseRoles(value: string): Role[] {
  const names = value.split(',').map((r) => r.trim());
  for (const r of names) if (r !== 'read' && !(ROLES as readonly string[]).includes(r)) throw new InvalidArgumentError(`unknown role "${r}" (expected ${ROLES.join(', ')})`);
  return upcastRoles(names);
}

function parseExpiryOption(value: string): number {
  try {
    return parseExpiry(value, '--expires');
  } catch (err) {
    throw new InvalidArgumentError(err instanceof InputError ? err.message : String(err));
  }
}

function keyLine(k: KeySummary): string {
  return [k.key_id, k.tenant_id, k.roles.join(','), k.status, k.expires_at ? `expires ${k.expires_at}` : 'no expiry', k.label].join('\t');
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

  const keys = program
    .command('keys')
    .description('API keys (stored only as hashes in the control topic): create, list, rotate, revoke; docs/api.md "Authentication"');
  keys
    .command('create')
    .description('create an API key and print its secret once (stdout); its public key id goes to stderr')
    .requiredOption('--tenant <tenant_id>', 'the tenant the key acts for, or * for a platform key (any registered tenant)')
    .option('--roles <roles>', `comma-separated: ${ROLES.join(', ')} (read = viewer,analyst)`, parseRoles, ['ingest', 'viewer', 'analyst'] as Role[])
    .option('--label <label>', 'what the key is for', 'cli')
    .option('--expires <duration>', 'lifetime such as 30d, 12h, 90m (default: no expiry)', parseExpiryOption)
    .action(async (opts: { tenant: string; roles: Role[]; label: string; expires?: number }) => {
      if (opts.roles.includes('platform-admin') && opts.tenant !== '*') throw new InvalidArgumentError('the platform-admin role belongs to platform keys: use --tenant "*"');
      await withControl(async (control) => {
        const expiresAt = opts.expires === undefined ? undefined : new Date(Date.now() + opts.expires);
        const { apiKey, record } = await control.createApiKey(opts.tenant, opts.roles, opts.label, { expiresAt });
        process.stderr.write(`created ${record.key_id} for ${record.tenant_id} with roles ${opts.roles.join(',')}${record.expires_at ? `, expiring ${record.expires_at}` : ''}; the secret is shown only now:\n`);
        process.stdout.write(`${apiKey}\n`);
      });
    });
  keys
    .command('list')
    .description('list keys: id, tenant, roles, status, expiry, label (never secrets)')
    .option('--tenant <tenant_id>', "only this tenant's keys")
    .option('--json', 'machine-readable output')
    .action(async (opts: { tenant?: string; json?: boolean }) => {
      await withControl(async (control) => {
        const records = [...control.state.apiKeys.values()].filter((r) => opts.tenant === undefined || r.tenant_id === opts.tenant);
        const list = keySummaries(records, Date.now());
        if (opts.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        else for (const k of list) process.stdout.write(`${keyLine(k)}\n`);
      });
    });
  keys
    .command('rotate')
    .description('give a key a new secret (printed once); the old secret keeps working for API_KEY_ROTATION_GRACE_S (default 1 h)')
    .argument('<key_id>', 'the key id (rtap keys list)')
    .action(async (keyId: string) => {
      await withControl(async (control) => {
        const rotated = await control.rotateApiKey(keyId, config().auth.keyRotationGraceMs);
        process.stderr.write(`rotated ${keyId}; the previous secret stops working at ${rotated.previousExpireAt}; the new secret is shown only now:\n`);
        process.stdout.write(`${rotated.apiKey}\n`);
      });
    });
  keys
    .command('revoke')
    .description('revoke a key: every secret of it stops working at once')
    .argument('<key_id>', 'the key id (rtap keys list)')
    .action(async (keyId: string) => {
      await withControl(async (control) => {
        const revoked = await control.revokeApiKey(keyId);
        process.stdout.write(`revoked ${keyId} (${revoked.length} secret(s)) at ${revoked[0].revoked_at}\n`);
      });
    });
}
