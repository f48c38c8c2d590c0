import type { Command } from 'commander';
import { countActiveKeys, createKey, keyJson, listKeys, parseGroups, parseScopes, revokeKey, type ApiKey } from '../../src/auth/keys.ts';
import type { Config } from '../../src/config/index.ts';
import { openContext } from '../context.ts';

const show = (k: ApiKey) =>
  `${String(k.id).padEnd(4)} ${k.prefix}…  ${k.name.padEnd(20)} scopes=${k.scopes.join(',')}  groups=${k.groups.join(',') || '(public only)'}  created=${k.createdAt}${k.revokedAt ? `  REVOKED ${k.revokedAt}` : ''}${k.lastUsedAt ? `  last used ${k.lastUsedAt}` : ''}`;


/** What the configuration this command loaded does with keys (the server reads the same one). */
export function authModeNote(config: Config): string {
  return config.auth.mode === 'required'
    ? 'auth.mode is required in this configuration: servers using it check this key on the next request.'
    : 'auth.mode is off in this configuration: servers using it do not check keys at all (and bind loopback only). Set auth.mode: required (config/local.yaml or KB_AUTH__MODE=required) and restart the server to enforce keys.';
}

export function register(program: Command): void {
  const keys = program.command('keys').description('API keys for the chat API (stored hashed; the secret is shown once)');

  keys
    .command('create')
    .description('create a key and print its secret once')
    .requiredOption('--name <name>', 'who or what the key is for')
    .option('--scopes <list>', 'comma-separated: chat, retrieve, upload, admin, metrics', 'chat')
    .option('--groups <list>', 'comma-separated ACL groups the key may read (none = public documents only)', '')
    .option('--json', 'print one JSON object')
    .action((opts: { name: string; scopes: string; groups: string; json?: boolean }) => {
      const scopes = parseScopes(opts.scopes);
      const groups = parseGroups(opts.groups);
      const ctx = openContext();
      try {
        const { key, secret } = createKey(ctx.db, { name: opts.name, scopes, groups });
        if (opts.json) process.stdout.write(`${JSON.stringify({ ...keyJson(key), secret, auth_mode: ctx.config.auth.mode })}\n`);
        else process.stdout.write(`${show(key)}\n\n  ${secret}\n\nThis secret is shown only now; it is stored hashed. Send it as "Authorization: Bearer <secret>".\n`);
        process.stderr.write(`Note: ${authModeNote(ctx.config)}\n`);
      } finally {
        ctx.close();
      }
    });

  keys
    .command('list')
    .description('list keys (active ones; --all includes revoked)')
    .option('--all', 'include revoked keys')
    .option('--json', 'print a JSON array')
    .action((opts: { all?: boolean; json?: boolean }) => {
      const ctx = openContext();
      try {
        const list = listKeys(ctx.db, { includeRevoked: opts.all });
        if (opts.json) process.stdout.write(`${JSON.stringify(list.map(keyJson))}\n`);
        else {
          const none = ctx.config.auth.mode === 'required' ? 'no keys: auth.mode is required, so every /v1 request is refused until one is created' : 'no keys (auth.mode is off: the server is open on loopback only)';
          process.stdout.write(list.length ? `${list.map(show).join('\n')}\n` : `${none}\n`);
        }
      } finally {
        ctx.close();
      }
    });

  keys
    .command('revoke')
    .description('revoke a key by id or prefix (takes effect on the next request)')
    .argument('<id>', 'key id or prefix')
    .action((id: string) => {
      const ctx = openContext();
      try {
        const k = revokeKey(ctx.db, id);
        if (!k) throw new Error(`no active key with id or prefix "${id}"`);
        process.stdout.write(`revoked ${show(k)}\n`);
        // Revoking the last key never opens the server: say what it does instead.
        if (countActiveKeys(ctx.db) === 0 && ctx.config.auth.mode === 'required') {
          process.stderr.write('Note: no active key remains; auth.mode is required, so every /v1 request is refused until `kb keys create` makes one.\n');
        }
      } finally {
        ctx.close();
      }
    });
}
