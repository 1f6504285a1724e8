/** The README shows the Slurm array script verbatim: the file the Slurm test submits is the one a reader copies. */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../..', import.meta.url));

describe('README Slurm example', () => {
  it('is experiments/slurm/ablation-array.sbatch, line for line, and the script is executable', () => {
    const script = readFileSync(join(repo, 'experiments', 'slurm', 'ablation-array.sbatch'), 'utf8');
    const indented = script.split('\n').map((l) => (l === '' ? l : `  ${l}`)).join('\n');
    const readme = readFileSync(join(repo, 'README.md'), 'utf8');
    expect(readme).toContain(`  \`\`\`bash\n${indented}  \`\`\`\n`);
    expect(statSync(join(repo, 'experiments', 'slurm', 'ablation-array.sbatch')).mode & 0o111).not.toBe(0);
  });
});
