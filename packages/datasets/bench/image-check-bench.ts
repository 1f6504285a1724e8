/**
 * What the damaged-image checks cost (issue 15, item 6): `checkImageFiles` (head + tail of every file, run over every
 * train / query / gallery image before training) over N copies of one synthetic-world JPEG, and the share of the
 * strict structure walk (`encodedImageProblem`) in `decodeImage` for that image. Medians of 3 rounds; page cache warm
 * after the first.
 *
 * Run: `npx tsx bench/image-check-bench.ts [--files 50000]` in packages/datasets.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeImage } from '../src/decode';
import { checkImageFiles, encodedImageProblem } from '../src/image-structure';
import { generateSyntheticWorld } from '../src/synthetic/generator';

const { values } = parseArgs({ options: { files: { type: 'string', default: '50000' } } });
const files = Number(values.files);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const dir = mkdtempSync(join(tmpdir(), 'image-check-bench-'));
try {
  const world = generateSyntheticWorld({ outDir: join(dir, 'world'), seed: 1, numTrainIds: 4, numTestIds: 2, numPretrainIds: 0, imageSize: 256 });
  const src = join(world.root, 'image_train', readdirSync(join(world.root, 'image_train')).find((f) => f.endsWith('.jpg'))!);
  const copies = join(dir, 'copies');
  mkdirSync(copies);
  const paths = Array.from({ length: files }, (_, i) => join(copies, `${i}.jpg`));
  for (const p of paths) copyFileSync(src, p);
  const check = [0, 1, 2].map(() => {
    const t0 = performance.now();
    const r = checkImageFiles(paths);
    if (r.damaged.length > 0) throw new Error('bench: a copy was reported damaged');
    return (performance.now() - t0) / 1000;
  });
  const bytes = new Uint8Array(readFileSync(src));
  const time = (f: () => unknown, n: number): number => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f();
    return (performance.now() - t0) / n;
  };
  const walk = median([0, 1, 2].map(() => time(() => encodedImageProblem(bytes), 200)));
  const decode = median([0, 1, 2].map(() => time(() => decodeImage(bytes, src), 50)));
  console.log(`checkImageFiles: ${files} files of ${bytes.length} B in ${median(check).toFixed(2)} s (rounds ${check.map((s) => s.toFixed(2)).join(', ')})`);
  console.log(`structure walk ${walk.toFixed(3)} ms of a ${decode.toFixed(2)} ms decodeImage for one 256² JPEG`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
