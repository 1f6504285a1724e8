#!/usr/bin/env node
// `npx clip-senet …` from the repository: the CLI is TypeScript run from source, so register tsx's loader first.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// tsx resolves @clip-senet/* to their sources through the `paths` of the repository's tsconfig; name it, so that
// this works from any working directory (and so do the workers and trainers started from here, which inherit it).
process.env.TSX_TSCONFIG_PATH ??= fileURLToPath(new URL('../tsconfig.json', import.meta.url));
register();
const { main } = await import('../src/cli.ts');
const { watchParent } = await import('../src/parent-watch.ts');
watchParent();
process.exitCode = await main(process.argv.slice(2));
