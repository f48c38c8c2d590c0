// Entry of every retrieval worker thread. The project runs its TypeScript through tsx (see
// bin/kb.mjs); a worker thread starts with a fresh module loader, so it registers tsx itself
// and then imports the worker module named in workerData (the real one, or a test's wrapper).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.script);
