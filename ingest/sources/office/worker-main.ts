import { parentPort } from 'node:worker_threads';
import { extractDocuments, type BinaryFormat } from './extract.ts';

// Serves extraction jobs one at a time. The parent terminates this thread when a job exceeds its
// time limit, so nothing here needs to be interruptible.

interface Job {
  id: number;
  format: BinaryFormat;
  data: Uint8Array;
}

parentPort!.on('message', async (job: Job) => {
  const result = await extractDocuments(Buffer.from(job.data.buffer, job.data.byteOffset, job.data.byteLength), job.format);
  parentPort!.postMessage({ id: job.id, result });
});
parentPort!.postMessage({ ready: true });
