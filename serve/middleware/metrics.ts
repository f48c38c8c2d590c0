import type { RequestHandler } from 'express';
import type { ServerMetrics } from '../metrics.ts';
import { state } from '../state.ts';

/** Counts and times every request by route, and writes one access-log line when it ends. */
export function observeRequests(metrics: ServerMetrics): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const s = state(res);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      // A response cut off before it finished (client gone) is counted with status 499, as nginx does.
      const status = res.writableFinished ? String(res.statusCode) : '499';
      metrics.httpRequests.inc({ route: s.route, method: req.method, status });
      metrics.httpDuration.observe({ route: s.route, method: req.method }, seconds);
      s.log.info({ method: req.method, path: req.originalUrl.split('?')[0], route: s.route, status: Number(status), ms: Math.round(seconds * 1000), key_id: s.key?.id }, 'request');
    };
    res.on('finish', finish);
    res.on('close', finish);
    next();
  };
}
