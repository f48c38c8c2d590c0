import type { Command } from 'commander';
import { createKey, listKeys, parseGroups, parseScopes, revokeKey, type ApiKey } from '../../auth/keys.ts';
import { openContext } from '../context.ts';

const show = (k: ApiKey) =>
  `${String(k.id).padEnd(4)} ${k.prefix}…  ${k.name.padEnd(20)} scopes=${k.scopes.join(',')}  groups=${k.groups.join(',') || '(public only)'}  created=${k.createdAt}${k.revokedAt ? `  REVOKED ${k.revokedAt}` : ''}${k.lastUsedAt ? `  last used ${k.lastUsedAt}` : ''}`;

const publicJson = (k: ApiKey) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  scopes: k.scopes,
  groups: k.groups,
  created_at: k.createdAt,
  revoked_at: k.revokedAt,
  last_used_at: k.lastUsedAt,
});

export function register(program: Command): void {
  const keys = program.command('keys').description('API keys for the chat API (stored hashed; the secret is shown once)');

  keys
    .command('create')
    .description('create a key and print its secret once')
    .requiredOption('--name <name>', 'who or what the key is for')
    .option('--scopes <list>', 'comma-separated: chat, retrieve, upload, admin', 'chat')
    .option('--groups <list>', 'comma-separated ACL groups the key may read (none = public documents only)', '')
    .option('--json', 'print one JSON object')
    .action((opts: { name: string; scopes: string; groups: string; json?: boolean }) => {
      const scopes = parseScopes(opts.scopes);
      const groups = parseGroups(opts.groups);
      const ctx = openContext();
      try {
        const { key, secret } = createKey(ctx.db, { name: opts.name, scopes, groups });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ ...publicJson(key), secret })}\n`);
          return;
        }
        process.stdout.write(`${show(key)}\n\n  ${secret}\n\nThis secret is shown only now; it is stored hashed. Send it as "Authorization: Bearer <secret>".\n`);
        process.stderr.write('Note: a server started without keys binds 127.0.0.1; restart it to listen on server.host.\n');
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
        if (opts.json) process.stdout.write(`${JSON.stringify(list.map(publicJson))}\n`);
        else process.stdout.write(list.length ? `${list.map(show).join('\n')}\n` : 'no keys (the server runs with auth off, on 127.0.0.1 only)\n');
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
      } finally {
        ctx.close();
      }
    });
}
