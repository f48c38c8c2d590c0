import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Retriever } from '../retrieval/types.ts';
import type { DB } from '../store/index.ts';

/** One opened snapshot: its own store handle and retriever (index readers) over its own folder. */
export interface Generation {
  id: string;
  db: DB;
  retriever: Retriever;
  /** What /readyz reports about this generation's index. */
  status(): { loaded: boolean; [key: string]: unknown };
  close(): Promise<void>;
}

interface Slot {
  gen: Generation;
  refs: number;
  retired: boolean;
  closing: Promise<void> | null;
}

/**
 * The hot swap of a replica. Every HTTP request is pinned, for its whole life, to the generation
 * that was current when it arrived (AsyncLocalStorage); `db` and `retriever` handed to the app
 * resolve through that pin. swap() makes a new generation current at once for new requests,
 * while requests in flight finish on the old handles; the old generation is closed when its last
 * request ends. So no request ever sees a closed handle or mixes two snapshots.
 */
export class GenerationSwitch {
  private readonly als = new AsyncLocalStorage<Slot>();
  private current: Slot | null = null;
  private readonly retired = new Set<Slot>();
  private readonly onClosed: (id: string) => void;

  constructor(opts: { onClosed?: (id: string) => void } = {}) {
    this.onClosed = opts.onClosed ?? (() => {});
  }

  get currentId(): string | null {
    return this.current?.gen.id ?? null;
  }

  /** Ids still open (the current one and retired ones with requests in flight). */
  openIds(): string[] {
    return [...(this.current ? [this.current.gen.id] : []), ...[...this.retired].map((s) => s.gen.id)];
  }

  /** The generation the running request is pinned to (outside a request: the current one). */
  pinned(): Generation {
    const slot = this.als.getStore() ?? this.current;
    if (!slot) throw new Error('no snapshot generation is open yet');
    return slot.gen;
  }

  swap(gen: Generation): void {
    const old = this.current;
    this.current = { gen, refs: 0, retired: false, closing: null };
    if (old) {
      old.retired = true;
      this.retired.add(old);
      this.maybeClose(old);
    }
  }

  /** Wraps the HTTP handler: pins each request to the current generation until its response closes. */
  wrap(handler: RequestListener): RequestListener {
    return (req: IncomingMessage, res: ServerResponse) => {
      const slot = this.current;
      if (!slot) return handler(req, res);
      slot.refs++;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        slot.refs--;
        this.maybeClose(slot);
      };
      res.once('close', release);
      res.once('finish', release);
      this.als.run(slot, () => handler(req, res));
    };
  }

  /** A DB whose every property access goes to the pinned generation's handle. */
  readonly db: DB = new Proxy({} as DB, {
    get: (_target, prop) => {
      const db = this.pinned().db;
      const v = Reflect.get(db, prop, db) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(db) : v;
    },
  });

  readonly retriever: Retriever = {
    retrieve: (req) => this.pinned().retriever.retrieve(req),
  };

  private maybeClose(slot: Slot): void {
    if (!slot.retired || slot.refs > 0 || slot.closing) return;
    slot.closing = slot.gen
      .close()
      .catch(() => {})
      .finally(() => {
        this.retired.delete(slot);
        this.onClosed(slot.gen.id);
      });
  }

  /** Closes every generation (server shutdown: call after in-flight requests ended). */
  async closeAll(): Promise<void> {
    const slots = [...this.retired, ...(this.current ? [this.current] : [])];
    this.current = null;
    for (const s of slots) {
      s.retired = true;
      s.refs = 0;
      this.maybeClose(s);
    }
    await Promise.all(slots.map((s) => s.closing));
  }
}
