import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import type { DB } from '../store/index.ts';
import { GenerationSwitch, type Generation } from './generations.ts';

// A fake generation: its "db" answers which generation it is and refuses use after close.
function fakeGen(id: string, closed: string[]): Generation {
  let open = true;
  const db = {
    get open() {
      return open;
    },
    whoami(this: { open: boolean }) {
      if (!this.open) throw new Error(`generation ${id} used after close`);
      return id;
    },
  } as unknown as DB;
  return {
    id,
    db,
    retriever: { retrieve: async () => ({ hits: [], timings: {}, degraded: [id] }) as never },
    status: () => ({ loaded: true, id }),
    close: async () => {
      open = false;
      closed.push(id);
    },
  };
}

let server: http.Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

describe('GenerationSwitch', () => {
  it('pins each request (body parsing included) to the generation it arrived on and closes the old one after its last request', async () => {
    const closed: string[] = [];
    const sw = new GenerationSwitch();
    sw.swap(fakeGen('g1', closed));
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let arrived: () => void = () => {};
    const slowArrived = new Promise<void>((r) => (arrived = r));

    const app = express();
    app.use(express.json());
    app.post('/ask', async (req, res) => {
      const before = (sw.db as unknown as { whoami(): string }).whoami();
      if (req.body.slow) {
        arrived();
        await gate; // a swap happens while this request is in flight
      }
      const after = (sw.db as unknown as { whoami(): string }).whoami();
      const viaRetriever = (await sw.retriever.retrieve({ query: 'q' } as never)).degraded[0];
      res.json({ before, after, viaRetriever, open: sw.db.open });
    });
    server = http.createServer(sw.wrap(app));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ask`;
    const post = (body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());

    const slow = post({ slow: true });
    await slowArrived;
    sw.swap(fakeGen('g2', closed));
    expect(await post({})).toEqual({ before: 'g2', after: 'g2', viaRetriever: 'g2', open: true });
    expect(closed).toEqual([]); // g1 still has a request in flight
    expect(sw.openIds()).toEqual(['g2', 'g1']);
    release();
    expect(await slow).toEqual({ before: 'g1', after: 'g1', viaRetriever: 'g1', open: true });
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toEqual(['g1']);
    expect(sw.openIds()).toEqual(['g2']);

    // Outside any request the current generation answers; closeAll closes it.
    expect(sw.pinned().id).toBe('g2');
    await sw.closeAll();
    expect(closed).toEqual(['g1', 'g2']);
    expect(() => sw.pinned()).toThrow(/no snapshot generation/);
  });

  it('closes a superseded idle generation at once, and releases a request the client abandoned', async () => {
    const closed: string[] = [];
    const sw = new GenerationSwitch({ onClosed: (id) => closed.push(`cb:${id}`) });
    sw.swap(fakeGen('a', closed));
    let arrived: () => void = () => {};
    const hung = new Promise<void>((r) => (arrived = r));
    server = http.createServer(
      sw.wrap((_req, _res) => {
        arrived(); // never answers: the client gives up
      }),
    );
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const ac = new AbortController();
    const req = fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { signal: ac.signal }).catch(() => null);
    await hung;
    sw.swap(fakeGen('b', closed));
    expect(closed).toEqual([]);
    ac.abort();
    await req;
    for (let i = 0; i < 50 && !closed.includes('cb:a'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(closed).toEqual(['a', 'cb:a']);
    sw.swap(fakeGen('c', closed)); // b had no requests: closed immediately
    await new Promise((r) => setTimeout(r, 10));
    expect(closed).toEqual(['a', 'cb:a', 'b', 'cb:b']);
    server.closeAllConnections();
  });
});
