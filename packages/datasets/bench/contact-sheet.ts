/**
 * Writes reports/synthetic-contact-sheet.png from the default synthetic world (generated into a temporary folder).
 * Run: `npx tsx bench/contact-sheet.ts` from packages/datasets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeContactSheet } from '../src/synthetic/contact-sheet';
import { generateSyntheticWorld } from '../src/synthetic/generator';

/** Generate the default world and write the contact sheet; returns the PNG size in bytes. */
export function makeContactSheet(outPath: string): number {
  const dir = mkdtempSync(join(tmpdir(), 'synthetic-sheet-'));
  try {
    const world = generateSyntheticWorld({ outDir: join(dir, 'world') });
    return writeContactSheet(world.root, outPath, { rows: 12, cols: 6, cell: 64 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const out = resolve(import.meta.dirname, '../../../reports/synthetic-contact-sheet.png');
  const bytes = makeContactSheet(out);
  console.log(`wrote ${out} (${(bytes / 1024).toFixed(0)} KB)`);
}
