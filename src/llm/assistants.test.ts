import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config/index.ts';
import { buildAssistants } from './assistants.ts';

describe('assistants from config', () => {
  it('defaults to kb-assistant without a generator (extractive mode)', () => {
    const a = buildAssistants(loadConfig({ env: {} }));
    expect([...a.keys()]).toEqual(['kb-assistant']);
    expect(a.get('kb-assistant')!.model).toBeNull();
  });

  it('maps an assistant to its upstream, base model and adapter', () => {
    const config = loadConfig({
      env: { KB_UPSTREAMS__VLLM__BASE_URL: 'http://127.0.0.1:8000/v1' },
      overrides: { assistants: { 'kb-assistant': { upstream: 'vllm', model: 'qwen-7b', adapter: 'kb-lora' } } },
    });
    expect(config.upstreams.vllm).toEqual({ base_url: 'http://127.0.0.1:8000/v1', api_key: '', timeout_ms: 60000, max_retries: 1 });
    expect(buildAssistants(config).get('kb-assistant')!.model!.description).toBe('vllm:kb-lora (base qwen-7b)');
  });

  it('rejects an unknown upstream and inconsistent budgets with clear errors', () => {
    const config = loadConfig({ env: {}, overrides: { assistants: { 'kb-assistant': { upstream: 'nope', model: 'm' } } } });
    expect(() => buildAssistants(config)).toThrow(new ConfigError('assistants.kb-assistant.upstream: unknown upstream "nope" (configured: none)'));
    expect(() => loadConfig({ env: {}, overrides: { assistants: { 'kb-assistant': { context_tokens: 1000, answer_tokens: 1000 } } } })).toThrow(/assistants\.kb-assistant\.answer_tokens: must be < context_tokens/);
    expect(() => loadConfig({ env: {}, overrides: { chat: { reasoning: 'show' } } })).toThrow(/chat\.reasoning/);
  });
});
