// Plain-JS entry of a data-parallel worker process: registers the tsx loader from this package's location (so the
// worker starts whatever the current directory is) and then runs the TS worker code.
import { register } from 'tsx/esm/api';

register();
await import('./data-parallel-worker.ts');
