/** The repository root (this file is experiments/src/repo-root.ts), computed once: configs, data, runs and reports resolve against it. */
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
