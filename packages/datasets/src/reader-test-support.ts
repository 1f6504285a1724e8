/**
 * Helpers for the reader tests (not exported from the package): temporary folders, hand-made fixture trees with
 * broken overlays, and capturing a {@link DatasetFormatError}.
 *
 * Fixture convention: `fixtures/<dataset>/base/` is a valid miniature tree with the awkward cases (BOM, CRLF,
 * trailing blank lines); `fixtures/<dataset>/broken/<case>/` holds only the files that replace the base ones.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetFormatError } from './errors';

/** Absolute path of `fixtures/<dataset>`. */
export function fixtureDir(dataset: string): string {
  return join(import.meta.dirname, '..', 'fixtures', dataset);
}

/** Creates temporary folders and removes them all on `cleanup()`. */
export class TempDirs {
  private readonly dirs: string[] = [];

  make(prefix = 'datasets-test-'): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /** A temporary copy of `src` (a folder). */
  copy(src: string): string {
    const dir = this.make();
    cpSync(src, dir, { recursive: true });
    return dir;
  }

  cleanup(): void {
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

/** A temporary copy of `fixtures/<dataset>/<base>` with `fixtures/<dataset>/broken/<name>` laid over it. */
export function brokenTree(temp: TempDirs, dataset: string, name: string, base = 'base'): string {
  const root = temp.copy(join(fixtureDir(dataset), base));
  cpSync(join(fixtureDir(dataset), 'broken', name), root, { recursive: true });
  return root;
}

/** Runs `fn` and returns the {@link DatasetFormatError} it throws (any other outcome fails). */
export function captureFormatError(fn: () => unknown): DatasetFormatError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DatasetFormatError) return err;
    throw err;
  }
  throw new Error('expected a DatasetFormatError, but nothing was thrown');
}
