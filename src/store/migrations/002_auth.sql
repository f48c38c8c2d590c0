-- API keys for the chat API. Only a SHA-256 hash of each secret is stored; the secret is shown
-- once at creation. `prefix` (the secret's first characters) identifies a key in lists and logs
-- and narrows the lookup before the constant-time hash comparison.
CREATE TABLE api_keys (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL,
  prefix        TEXT NOT NULL,
  hash          TEXT NOT NULL UNIQUE,      -- hex SHA-256 of the full secret
  scopes        TEXT NOT NULL DEFAULT '[]', -- JSON array: chat | retrieve | admin
  groups        TEXT NOT NULL DEFAULT '[]', -- JSON array of ACL groups the key may read
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  revoked_at    TEXT,
  last_used_at  TEXT
);
CREATE INDEX api_keys_prefix ON api_keys(prefix);
