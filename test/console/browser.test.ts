import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ScriptedUpstream } from '../server/support/scripted-upstream.ts';
import { startLiveServer, type LiveServer } from './live-server.ts';
import { seedFinetune, type FinetuneSeed } from './seed.ts';
import { docxFixture, pdfFixture } from './office-fixtures.ts';

// The chat page and the admin console driven in a real Chromium against a real server on a temp
// data folder (tiny embedding model, real ingestion, a scripted model upstream). Screenshots of
// every page go to test-output/console/. Without a browser the suite is skipped, saying why.

const CANDIDATES = [process.env.KB_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter(Boolean) as string[];
const executablePath = CANDIDATES.find((p) => fs.existsSync(p));
if (!executablePath) {
  console.warn('browser tests skipped: no Chromium found. Install Debian\'s package (`apt-get install -y chromium`) or set KB_CHROMIUM=/path/to/chromium.');
}
const OUT = path.resolve('test-output/console');

let browser: Browser;
let upstream: ScriptedUpstream;
let s: LiveServer;
let seed: FinetuneSeed;

const KEYS = [
  { name: 'ops', scopes: ['admin' as const, 'chat' as const, 'upload' as const], groups: [] },
  { name: 'sales', scopes: ['chat' as const], groups: ['sales'] },
  { name: 'temp-integration', scopes: ['chat' as const], groups: [] },
];

/** The scripted model: a little reasoning, then an answer citing the first two context blocks, streamed slowly. */
function answerFor(userPrompt: string): { reasoning: string; chunks: string[] } {
  const blocks = [...userPrompt.matchAll(/^\[(\d+)\] (.+?)(?: \(|$)/gm)].map((m) => ({ n: Number(m[1]), title: m[2] }));
  const [a, b] = blocks;
  if (!a) return { reasoning: 'Nothing relevant in the context.', chunks: ['The documents do not contain this.'] };
  const chunks = [`According to **${a.title}**, `, 'the company launched ', `a new product in Shanghai [${a.n}]. `];
  if (b) chunks.push(`A related report is ${b.title} [${b.n}].`, '\n\n- first point\n- second point');
  return { reasoning: `The context block [${a.n}] answers the question directly.`, chunks };
}

async function newPage(key?: string): Promise<{ ctx: BrowserContext; page: Page; errors: string[] }> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-US' });
  if (key) await ctx.addInitScript((k) => localStorage.setItem('kb.apiKey', k), key);
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && !/Failed to load resource/.test(m.text()) && errors.push(m.text()));
  return { ctx, page, errors };
}

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });

describe.skipIf(!executablePath)('web console in Chromium', () => {
  beforeAll(async () => {
    fs.mkdirSync(OUT, { recursive: true });
    upstream = await new ScriptedUpstream().start();
    upstream.script = (req) => {
      const prompt = String(req.messages[req.messages.length - 1]?.content ?? '');
      if (prompt.startsWith("Rewrite the user's last question") || String(req.messages[0]?.content ?? '').startsWith("Rewrite the user's last question")) return { content: 'Which company launched a battery product in Shanghai?' };
      const a = answerFor(prompt);
      return { reasoning: a.reasoning, chunks: a.chunks, chunkDelayMs: 120 };
    };
    s = await startLiveServer({
      keys: KEYS,
      articles: 8,
      overrides: {
        upstreams: {
          scripted: { base_url: upstream.url, api_key: 'x', timeout_ms: 5000, max_retries: 0 },
          // Nothing listens on the discard port: the model server is unreachable.
          offline: { base_url: 'http://127.0.0.1:9/v1', api_key: 'x', timeout_ms: 2000, max_retries: 0 },
        },
        assistants: {
          'kb-assistant': { upstream: 'scripted', model: 'base-model', adapter: '', description: 'grounded answers' },
          'kb-extractive': { description: 'passages only' },
          'kb-offline': { upstream: 'offline', model: 'base-model', description: 'model server down' },
        },
        chat: { reasoning: 'separate' },
      },
    });
    seed = seedFinetune(s.env.db, s.env.dir);
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    await s?.close();
    await upstream?.close();
  });

  it('signs in with a key, streams a cited answer, opens a citation at its passage, keeps the conversation', async () => {
    const { ctx, page, errors } = await newPage();
    await page.goto(`${s.url}/`);
    // Auth is on: the sign-in dialog asks for a key (it never goes into the URL).
    await page.locator('#api-key').fill(s.secrets.sales);
    await page.keyboard.press('Enter');
    await page.locator('body[data-ready="true"]').waitFor();
    expect(page.url()).not.toContain('kb_');
    await shot(page, '01-chat-empty');

    await page.locator('#question').fill('Which company launched a battery product in Shanghai?');
    await page.keyboard.press('Enter');
    // Streaming: part of the answer is on screen while the Stop button is still shown.
    await page.waitForFunction(() => {
      const a = document.querySelector('.msg.assistant .answer');
      return a && a.textContent!.length > 0 && !(document.getElementById('stop') as HTMLButtonElement).hidden;
    });
    await page.locator('#send:not([hidden])').waitFor();
    const answer = page.locator('.msg.assistant').last();
    await expect.poll(() => answer.locator('.answer').textContent()).toMatch(/launched a new product in Shanghai/);
    // Reasoning is there, collapsed until asked for.
    await expect.poll(() => answer.locator('details.reasoning').getAttribute('open')).toBeNull();
    await answer.locator('details.reasoning summary').click();
    await expect.poll(() => answer.locator('.reasoning-text').textContent()).toMatch(/answers the question directly/);
    expect(await answer.locator('.answer strong').count()).toBeGreaterThan(0);
    expect(await answer.locator('.answer li').count()).toBe(2);
    const cites = answer.locator('.answer button.cite');
    expect(await cites.count()).toBe(2);
    expect(await answer.locator('ol.sources li').count()).toBeGreaterThanOrEqual(1);
    await shot(page, '02-chat-answer');

    // A citation opens its document with the cited passage highlighted.
    await cites.first().click();
    const dialog = page.locator('dialog.passage');
    await dialog.locator('mark').first().waitFor();
    expect(await dialog.locator('#passage-title').textContent()).toMatch(/Company \d+ battery news/);
    expect(await dialog.locator('.meta').textContent()).toMatch(/news/);
    expect(await dialog.locator('mark').first().textContent()).toMatch(/launched a new battery product in Shanghai/);
    await shot(page, '03-passage');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });

    // A follow-up sends the conversation so far.
    const before = upstream.answerRequests().length;
    await page.locator('#question').fill('And when was that?');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('.msg.assistant').count()).toBe(2);
    await page.locator('#send:not([hidden])').waitFor();
    const sent = upstream.answerRequests().slice(before);
    expect(sent.length).toBeGreaterThan(0);
    expect(JSON.stringify(upstream.requests.slice(-2).map((r) => r.messages))).toMatch(/launched a new product in Shanghai/);

    // A reload of the tab keeps the conversation (and the key, for this session), citations working.
    await page.reload();
    await page.locator('body[data-ready="true"]').waitFor();
    expect(await page.locator('dialog.modal').count()).toBe(0);
    await expect.poll(() => page.locator('.msg.assistant').count()).toBe(2);
    await page.locator('.msg.assistant').first().locator('button.cite').first().click();
    await page.locator('dialog.passage mark').first().waitFor();
    await page.keyboard.press('Escape');
    // "New chat" forgets it.
    await page.locator('#new-chat').click();
    await page.reload();
    await page.locator('body[data-ready="true"]').waitFor();
    expect(await page.locator('.msg').count()).toBe(0);
    expect(errors).toEqual([]);
    await ctx.close();
  });

  it('keeps citations working when the last streamed text is drawn after the answer is final (slow frames)', async () => {
    const { ctx, page, errors } = await newPage(s.secrets.sales);
    // A loaded machine: animation frames arrive 400 ms late. A redraw queued by the last streamed
    // delta then runs after the final render — it used to replace the citation buttons with ones
    // that knew no citations, so clicking [1] opened nothing.
    await ctx.addInitScript(() => {
      window.requestAnimationFrame = (cb) => window.setTimeout(() => cb(performance.now()), 400);
      window.cancelAnimationFrame = (id) => window.clearTimeout(id);
    });
    await page.goto(`${s.url}/`);
    await page.locator('body[data-ready="true"]').waitFor();
    await page.locator('#question').fill('Which company launched a battery product in Shanghai?');
    await page.keyboard.press('Enter');
    await page.locator('#send:not([hidden])').waitFor();
    await page.waitForTimeout(600); // past any late frame
    const answer = page.locator('.msg.assistant').last();
    await expect.poll(() => answer.locator('.answer').textContent()).toMatch(/launched a new product in Shanghai/);
    await answer.locator('.answer button.cite').first().click();
    await page.locator('dialog.passage mark').first().waitFor({ timeout: 10_000 });
    expect(await page.locator('dialog.passage mark').first().textContent()).toMatch(/launched a new battery product in Shanghai/);
    expect(errors).toEqual([]);
    await ctx.close();
  });

  it('says in words when the answer is extractive, and works by keyboard alone', async () => {
    const { ctx, page, errors } = await newPage(s.secrets.sales);
    await page.goto(`${s.url}/`);
    await page.locator('body[data-ready="true"]').waitFor();
    await page.locator('#assistant').selectOption('kb-extractive');
    // Focus starts in the question box: type, Enter sends.
    await page.locator('#question').focus();
    await page.keyboard.type('battery product Shanghai');
    await page.keyboard.press('Enter');
    await page.locator('.msg.assistant .sources-wrap:not([hidden])').waitFor();
    expect(await page.locator('.msg.assistant .notice').first().textContent()).toMatch(/Extractive answer: no language model answered/);
    // Shift+Tab from the question box reaches the answer's Copy button, then the last source;
    // Enter opens it; Escape returns focus there.
    await page.locator('#question').focus();
    await page.keyboard.press('Shift+Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Copy');
    await page.keyboard.press('Shift+Tab');
    const focused = await page.evaluate(() => document.activeElement?.className);
    expect(focused).toMatch(/source-link/);
    await page.keyboard.press('Enter');
    await page.locator('dialog.passage mark').first().waitFor();
    await page.keyboard.press('Escape');
    await page.locator('dialog.passage').waitFor({ state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.className)).toMatch(/source-link/);
    await shot(page, '04-chat-extractive');

    // The model server is down: the passages are shown and the page says why.
    await page.locator('#assistant').selectOption('kb-offline');
    await page.locator('#question').fill('battery product Shanghai');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('.msg.assistant').count()).toBe(2);
    await page.locator('.msg.assistant >> nth=1 >> .sources-wrap:not([hidden])').waitFor();
    expect(await page.locator('.msg.assistant >> nth=1 >> .notice').allTextContents()).toEqual([expect.stringMatching(/The language model is unavailable \(unreachable\); showing passages instead/)]);
    // Degraded retrieval legs in words (what /v1/chat/completions reports in kb.degraded).
    // (A string, so that vitest's transform leaves the browser-side dynamic import alone.)
    const words = await page.evaluate(
      "import('/ui/notices.js').then((m) => m.notices({ mode: 'generated', degraded: ['dense: embedding model unavailable'], fallback: 'base-model' }).map((n) => n.text))",
    );
    expect(words).toEqual(['Keyword search only: the semantic (dense) index is unavailable (embedding model unavailable)', 'The fine-tuned adapter is not being served; the base model answered']);
    // Answer text is never parsed as HTML: markup in it is shown, not run.
    const rendered: { html: string; text: string } = await page.evaluate(
      "import('/ui/render.js').then((m) => { const el = document.createElement('div'); m.renderAnswer(el, '<img src=x onerror=\"window.pwned=1\"> **bold** [1] [9]\\n> quoted <b>x</b>\\n- item [javascript:alert(1)](javascript:alert(1))', () => {}, (n) => n === 1); document.body.append(el); return { html: el.innerHTML, text: el.textContent, cites: el.querySelectorAll('button.cite').length, links: el.querySelectorAll('a').length, imgs: el.querySelectorAll('img, b').length }; })",
    );
    expect(rendered).toMatchObject({ cites: 1, links: 0, imgs: 0 });
    expect(rendered.text).toContain('<img src=x onerror="window.pwned=1">');
    expect(rendered.text).toContain('[9]');
    expect(rendered.html).toContain('<blockquote>quoted &lt;b&gt;x&lt;/b&gt;</blockquote>');
    expect(await page.evaluate('window.pwned')).toBeUndefined();
    expect(errors).toEqual([]);
    await ctx.close();
  });

  it('shows the console in Chinese when the browser asks for it', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
    await ctx.addInitScript((k) => localStorage.setItem('kb.apiKey', k), s.secrets.ops);
    const page = await ctx.newPage();
    await page.goto(`${s.url}/`);
    await page.locator('body[data-ready="true"]').waitFor();
    expect(await page.locator('#question').getAttribute('placeholder')).toMatch(/输入问题/);
    expect(await page.locator('#admin-link').textContent()).toBe('管理控制台');
    await shot(page, '05-chat-zh');
    await ctx.close();
  });

  it('uploads files by drag-and-drop input and finds their text by asking', async () => {
    const { ctx, page, errors } = await newPage(s.secrets.ops);
    await page.goto(`${s.url}/admin#uploads`);
    await page.locator('#content[data-loaded="uploads"]').waitFor();
    const files: Array<{ name: string; mimeType: string; buffer: Buffer }> = [
      { name: 'walrus-plan.md', mimeType: 'text/markdown', buffer: Buffer.from('# Walrus battery plan\n\nThe walrus battery programme moves production to Ningbo in 2027, doubling capacity and cutting cell cost by a fifth.\n') },
      // Office formats go through the same folder-source parsers as any export.
      { name: 'okapi-report.pdf', mimeType: 'application/pdf', buffer: await pdfFixture('Okapi robotics report', 'The okapi robotics exhibition in Hangzhou drew forty exhibitors and two thousand visitors.') },
      { name: 'zebra-memo.docx', mimeType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', buffer: await docxFixture('Zebra logistics memo', 'Zebra logistics will consolidate three warehouses into one hub near Wuhan.') },
    ];
    await page.locator('#upload-input').setInputFiles(files);
    await expect.poll(() => page.locator('.upload-status').textContent(), { timeout: 20_000 }).toMatch(/Uploaded \d file/);
    await s.settle();
    await expect.poll(async () => (await page.locator('#uploads-list').textContent()) ?? '', { timeout: 20_000 }).toMatch(/walrus-plan\.md.*indexed/);
    await expect.poll(async () => (await page.locator('#uploads-list').textContent()) ?? '', { timeout: 20_000 }).toMatch(/okapi-report\.pdf.*indexed/s);
    await shot(page, '06-uploads');

    await page.goto(`${s.url}/`);
    await page.locator('body[data-ready="true"]').waitFor();
    const questions: Array<[string, RegExp]> = [
      ['walrus battery production Ningbo', /walrus battery programme moves production to Ningbo/i],
      ['okapi robotics exhibition Hangzhou', /okapi robotics exhibition in Hangzhou/i],
      ['zebra logistics warehouses Wuhan', /consolidate three warehouses/i],
    ];
    await page.locator('#assistant').selectOption('kb-extractive');
    for (const [q, expected] of questions) {
      await page.locator('#question').fill(q);
      await page.keyboard.press('Enter');
      await page.locator('#send:not([hidden])').waitFor();
      await expect.poll(() => page.locator('.msg.assistant').last().textContent()).toMatch(expected);
    }
    expect(errors).toEqual([]);
    await ctx.close();
  });

  it('renders every admin page; run ingest, revoke a key, a deploy refused by the gate', async () => {
    const { ctx, page, errors } = await newPage(s.secrets.ops);
    const open = async (hash: string, name: string) => {
      await page.goto(`${s.url}/admin#${hash}`);
      await page.locator(`#content[data-loaded="${name}"]`).waitFor();
    };
    await open('overview', 'overview');
    expect(await page.locator('.cards').textContent()).toMatch(/Documents.*Chunks.*Pending embeddings/);
    await shot(page, '10-admin-overview');

    // Run ingestion now → the run page, live until its report.
    await page.locator('#run-now').click();
    await page.waitForURL(/#runs\/\d+$/);
    await page.locator('#run-report .pill', { hasText: /succeeded/ }).waitFor({ timeout: 30_000 });
    expect(await page.locator('#run-report').textContent()).toMatch(/Stage timings.*read/);
    await shot(page, '11-admin-run');
    await open('runs', 'runs');
    expect(await page.locator('table.grid tbody tr').count()).toBeGreaterThanOrEqual(2);
    await shot(page, '12-admin-runs');

    s.env.db.prepare('INSERT INTO quarantine (source, run_id, locator, raw, reason, detail) VALUES (?, ?, ?, ?, ?, ?)').run('news', 1, 'news.jsonl:12', '{"id": "n-99", "body": "hi"}', 'too_short', 'cleaned body has 2 characters');
    await open('quarantine', 'quarantine');
    await page.locator('#q-reason').selectOption('too_short');
    await page.locator('details.q-item summary').first().click();
    expect(await page.locator('details.q-item').first().textContent()).toMatch(/shorter than cleaning\.min_chars.*"n-99"/s);
    await shot(page, '13-admin-quarantine');

    await open('documents', 'documents');
    await page.locator('#doc-q').fill('Company 3');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#documents-list tbody tr').count()).toBe(1);
    await shot(page, '14-admin-documents');
    await page.locator('#documents-list tbody tr').first().click();
    await page.locator('.chunk').first().waitFor();
    expect(await page.locator('.chunk .pill').first().textContent()).toBe('indexed');
    await shot(page, '15-admin-document');
    await page.locator('#delete-doc').click();
    await page.locator('dialog.modal button.danger').click();
    await page.waitForURL(/#documents$/);
    await expect.poll(() => page.locator('.toast').last().textContent()).toMatch(/removed from search now/);
    await page.locator('#doc-q').fill('Company 3');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#documents-list').textContent()).toMatch(/Nothing here yet/);

    await open('retrieval', 'retrieval');
    await page.locator('#rt-query').fill('battery product Shanghai');
    await page.locator('#rt-key').selectOption({ label: 'sales (sales)' });
    await page.keyboard.press('Enter');
    await page.locator('#rt-results table').waitFor();
    expect(await page.locator('#rt-results thead').textContent()).toMatch(/Dense.*BM25.*Fusion.*Fused.*Order/);
    // The fusion column names the fusion that ran (the configured default: convex); the order
    // column reads the API's score.rrf_rank (the position by the fusion score).
    expect(await page.locator('#rt-results tbody').textContent()).toMatch(/convex/);
    expect(await page.locator('#rt-results tbody').textContent()).toMatch(/fusion #1/);
    expect(await page.locator('#rt-results').textContent()).toMatch(/As key: sales/);
    await shot(page, '16-admin-retrieval');

    await open('keys', 'keys');
    await page.locator('button[aria-label="Revoke temp-integration"]').click();
    await page.locator('dialog.modal button.danger').click();
    await expect.poll(() => page.locator('#keys-list').textContent()).toMatch(/temp-integration.*revoked/);
    const probe = await fetch(`${s.url}/v1/session`, { headers: { authorization: `Bearer ${s.secrets['temp-integration']}` } });
    expect(probe.status).toBe(401);
    await page.locator('#key-name').fill('new-bot');
    await page.locator('#key-groups').fill('sales');
    await page.locator('#keys-list').waitFor();
    await page.getByRole('button', { name: 'Create key' }).click();
    await expect.poll(() => page.locator('#new-secret').textContent()).toMatch(/^kb_/);
    await shot(page, '17-admin-keys');

    await open('finetune', 'finetune');
    await page.locator('#loss-chart').waitFor();
    expect(await page.locator('canvas[data-eval-chart]').count()).toBe(2);
    await page.locator(`button[data-deploy="${seed.bad}"]`).click();
    await page.locator('dialog.modal button.primary').click();
    await expect.poll(() => page.locator('.toast.bad').textContent()).toMatch(/promotion gate refused company-2025h2/);
    await shot(page, '18-admin-finetune');
    expect(errors).toEqual([]);
    await ctx.close();
  });

  it('refuses the console to a key without the admin scope', async () => {
    const { ctx, page } = await newPage(s.secrets.sales);
    await page.goto(`${s.url}/admin`);
    await page.locator('dialog.modal p.error').waitFor();
    expect(await page.locator('dialog.modal p.error').textContent()).toMatch(/lacks the admin scope/);
    await ctx.close();
  });
});

describe.skipIf(!executablePath)('web console in Chromium, auth off (no API keys: local use)', () => {
  let local: LiveServer;
  beforeAll(async () => {
    fs.mkdirSync(OUT, { recursive: true });
    local = await startLiveServer({ articles: 4 });
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    await local?.close();
  });

  it('opens without a key and uploads from the chat page', async () => {
    const { ctx, page, errors } = await newPage();
    await page.goto(`${local.url}/`);
    await page.locator('body[data-ready="true"]').waitFor();
    expect(await page.locator('dialog.modal').count()).toBe(0);
    expect(await page.locator('#admin-link').isVisible()).toBe(true);
    expect(await page.locator('#sign-out').isVisible()).toBe(false);
    await page.locator('#upload-toggle').click();
    expect(await page.locator('#upload-toggle').getAttribute('aria-expanded')).toBe('true');
    await page.locator('#upload-input').setInputFiles({ name: 'okapi.txt', mimeType: 'text/plain', buffer: Buffer.from('Okapi exhibition recap\nThe okapi robotics exhibition in Hangzhou drew forty exhibitors and two thousand visitors.\n') });
    await expect.poll(() => page.locator('.upload-status').textContent()).toMatch(/Uploaded 1 file\(s\); ingestion #\d+ running/);
    await local.settle();
    const uploaded = (await (await fetch(`${local.url}/v1/uploads`)).json()) as { data: Array<{ documents: Array<{ status: string }> }> };
    expect(uploaded.data[0].documents[0].status).toBe('indexed');
    await page.locator('#question').fill('okapi robotics exhibition Hangzhou');
    await page.keyboard.press('Enter');
    await page.locator('#send:not([hidden])').waitFor();
    await expect.poll(() => page.locator('.msg.assistant ol.sources').textContent()).toMatch(/Okapi exhibition recap/);
    await shot(page, '07-chat-upload-auth-off');
    expect(errors).toEqual([]);
    await ctx.close();
  });
});

