import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.ts';
import { createReranker } from './factory.ts';
import { HttpReranker } from './http.ts';
import { LocalReranker } from './local.ts';

describe('rerank config', () => {
  it('is off by default and builds the configured provider', () => {
    const config = loadConfig({ env: {} });
    expect(config.rerank.provider).toBe('none');
    expect(createReranker(config)).toBeNull();
    expect(createReranker(loadConfig({ env: {}, overrides: { rerank: { provider: 'local' } } }))).toBeInstanceOf(LocalReranker);
    const http = createReranker(loadConfig({ env: { KB_RERANK__PROVIDER: 'http', KB_RERANK__HTTP__URL: 'http://127.0.0.1:8081/rerank' } }));
    expect(http).toBeInstanceOf(HttpReranker);
    expect(http!.id).toBe('http:tei:http://127.0.0.1:8081/rerank');
  });

  it('rejects an http provider without a URL, and a head out of range, naming the key', () => {
    expect(() => loadConfig({ env: {}, overrides: { rerank: { provider: 'http' } } })).toThrow(/rerank\.http\.url/);
    expect(() => loadConfig({ env: {}, overrides: { rerank: { head: 0 } } })).toThrow(/rerank\.head/);
  });
});
