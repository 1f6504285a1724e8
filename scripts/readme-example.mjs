// The example at the top of a package README, as the consumer test (consumer-test.mjs) runs it: the README's first
// ```js block is the example, the first ```text block after it is exactly what the example prints, and an earlier
// ```bash block installs the package (`npm install <its name>`). A README without them is an error naming it.
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** `{ code, output, install }` of the README at `readmePath`. */
export function readmeExample(readmePath) {
  const text = readFileSync(readmePath, 'utf8');
  const name = JSON.parse(readFileSync(join(dirname(readmePath), 'package.json'), 'utf8')).name;
  const blocks = [...text.matchAll(/^```(\w*)[^\n]*\n([\s\S]*?)^```\s*$/gm)].map((m) => ({ lang: m[1], body: m[2], at: m.index }));
  const where = `${basename(dirname(readmePath))}/${basename(readmePath)}`;
  const codeIndex = blocks.findIndex((b) => b.lang === 'js');
  if (codeIndex < 0) throw new Error(`${where}: no \`\`\`js example block (the consumer test runs the first one)`);
  const output = blocks.slice(codeIndex + 1).find((b) => b.lang === 'text');
  if (!output) throw new Error(`${where}: no \`\`\`text block after the example showing what it prints`);
  const install = blocks.slice(0, codeIndex).find((b) => b.lang === 'bash' && b.body.includes(`npm install ${name}`));
  if (!install) throw new Error(`${where}: no \`\`\`bash block with \`npm install ${name}\` before the example`);
  return { code: blocks[codeIndex].body, output: output.body, install: install.body };
}
