/**
 * Generated report files held in memory before they are written: writing them atomically, and the CI check mode
 * that compares the text files (.md, .csv) with what is on disk. PNGs are never compared — font rasterisation
 * differs between machines.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '../repo-root';
import { writeFileAtomic } from '@clip-senet/core/base';

/** The repository root (reports are laid out relative to it). */
export { REPO_ROOT };

/** One generated file. */
export interface GeneratedFile {
  readonly path: string;
  /** Text (compared in check mode) or PNG bytes (written, never compared). */
  readonly content: string | Buffer;
}

/** Write every file atomically; returns their paths. */
export function writeGenerated(files: readonly GeneratedFile[]): string[] {
  for (const f of files) writeFileAtomic(f.path, f.content);
  return files.map((f) => f.path);
}

/** Whether a generated file is a checked text file. */
export function isCheckedText(f: GeneratedFile): boolean {
  return typeof f.content === 'string' && /\.(md|csv)$/.test(f.path);
}

/** The text files that differ from (or are missing on) disk, as `path: reason`. */
export function diffGenerated(files: readonly GeneratedFile[]): string[] {
  const out: string[] = [];
  for (const f of files.filter(isCheckedText)) {
    if (!existsSync(f.path)) out.push(`${f.path}: missing`);
    else if (readFileSync(f.path, 'utf8') !== f.content) out.push(`${f.path}: differs from the regenerated text`);
  }
  return out;
}

/** Every `<reportsDir>/ablations/<ablation>/<profile>/runs.json`, sorted. */
export function findAblationRecords(reportsDir: string): string[] {
  const root = join(reportsDir, 'ablations');
  if (!existsSync(root)) return [];
  const dirs = (d: string): string[] => readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  return dirs(root).flatMap((a) => dirs(join(root, a)).map((p) => join(root, a, p, 'runs.json'))).filter((f) => existsSync(f));
}

/** `path` relative to the repository root with `/` separators (for machine-independent text). */
export function repoRelative(path: string, repoRoot = REPO_ROOT): string {
  return relative(repoRoot, path).split('\\').join('/');
}
