// Plain-JS entry of a data-parallel worker thread. Node 20 does not apply `--import tsx` hooks to a worker's own
// entry module, so this file registers the tsx loader inside the worker and then imports the TS worker code.
import { register } from 'tsx/esm/api';

register();
await import('./data-parallel-worker.ts');
