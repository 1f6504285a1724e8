// Plain-JS entry of a data-parallel worker thread. In a build (dist/) the compiled worker sits beside this file and
// is imported directly. From source, Node 20 does not apply `--import tsx` hooks to a worker's own entry module, so
// this file registers the tsx loader inside the worker and then imports the TS worker code.
import { existsSync } from 'node:fs';

const compiled = new URL('./data-parallel-worker.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./data-parallel-worker.ts');
}
