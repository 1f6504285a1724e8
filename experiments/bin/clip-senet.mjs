#!/usr/bin/env node
// `npx clip-senet …` from the repository: the CLI is TypeScript run from source, so register tsx's loader first.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
const { watchParent } = await import('../src/parent-watch.ts');
watchParent();
process.exitCode = await main(process.argv.slice(2));
