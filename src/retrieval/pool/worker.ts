import { runRetrievalWorker } from './worker-runtime.ts';

// The retrieval worker thread (started by RetrievalPool through bootstrap.mjs).
await runRetrievalWorker();
