/**
 * Optional VeRi-776 inputs: viewpoint labels (for camera/view-embedding experiments) and the official
 * per-query good/junk index files read by the MATLAB evaluation.
 *
 * View label file format (defined by this project): one `<image file name> <view id>` per line, separated by
 * whitespace, view id an integer 0..7 (VeRi keypoint views); blank lines ignored, BOM/CRLF tolerated. A name may
 * appear once. Labels for images that are not loaded are ignored; a loaded image without a label is an error.
 *
 * `gt_index.txt` / `jk_index.txt`: line q (1-based) lists, separated by whitespace, the 1-based positions in
 * `name_test.txt` of the good (same id, other camera) / junk (same id, same camera) gallery images of query q.
 */
import { basename } from 'node:path';
import { DatasetFormatError } from './errors';
import { MISSING_SHOWN, DuplicateGuard, parseNonNegInt, physicalLines, readListLines, readTextFile } from './list-file';
import type { Sample } from './sample';

/** Number of VeRi-776 keypoint viewpoints (ids 0..7). */
export const NUM_VIEWS = 8;

/** Per-query gallery indices (0-based into the gallery / `name_test.txt` order), ascending as in the file. */
export interface VeRi776GoodJunk {
  readonly good: Int32Array[];
  readonly junk: Int32Array[];
}

/** Read a view label file into a map image name → view id. */
export function readViewLabels(file: string): Map<string, number> {
  const views = new Map<string, number>();
  const dupes = new DuplicateGuard(file);
  for (const { text, line } of readListLines(file)) {
    const tokens = text.split(/\s+/);
    const view = tokens.length === 2 ? parseNonNegInt(tokens[1]!) : undefined;
    if (view === undefined || view >= NUM_VIEWS) {
      throw new DatasetFormatError(file, line, `malformed view label "${text}" (expected "<image name> <view id 0..${NUM_VIEWS - 1}>")`);
    }
    dupes.check(tokens[0]!, line);
    views.set(tokens[0]!, view);
  }
  return views;
}

/** Attach `viewId` to every sample of every split; throws listing the samples without a label. */
export function applyViewLabels(file: string, splits: readonly Sample[][]): Sample[][] {
  const views = readViewLabels(file);
  const unlabelled = new Set<string>();
  const out = splits.map((samples) =>
    samples.map((s) => {
      const viewId = views.get(basename(s.path));
      if (viewId === undefined) unlabelled.add(basename(s.path));
      return { ...s, viewId: viewId ?? -1 };
    }),
  );
  if (unlabelled.size > 0) {
    const names = [...unlabelled];
    const more = names.length > MISSING_SHOWN ? ` … and ${names.length - MISSING_SHOWN} more` : '';
    throw new DatasetFormatError(
      file,
      undefined,
      `${names.length} loaded image(s) have no view label: ${names.slice(0, MISSING_SHOWN).join(', ')}${more}`,
    );
  }
  return out;
}

function readIndexFile(file: string, numQueries: number, numGallery: number): Int32Array[] {
  const lines = physicalLines(readTextFile(file));
  for (let i = numQueries; i < lines.length; i++) {
    if (lines[i]!.trim() !== '') {
      throw new DatasetFormatError(file, i + 1, `more lines than queries (${numQueries}); expected one line per query`);
    }
  }
  if (lines.length < numQueries) {
    throw new DatasetFormatError(file, undefined, `${lines.length} lines but ${numQueries} queries; expected one line per query`);
  }
  return lines.slice(0, numQueries).map((raw, q) => {
    const text = raw.trim();
    const tokens = text === '' ? [] : text.split(/\s+/);
    const seen = new Set<number>();
    const out = new Int32Array(tokens.length);
    tokens.forEach((token, k) => {
      const idx = parseNonNegInt(token);
      if (idx === undefined || idx < 1 || idx > numGallery) {
        throw new DatasetFormatError(file, q + 1, `index "${token}" is not an integer in 1..${numGallery} (gallery size)`);
      }
      if (seen.has(idx)) throw new DatasetFormatError(file, q + 1, `index ${idx} repeated`);
      seen.add(idx);
      out[k] = idx - 1;
    });
    return out;
  });
}

/**
 * Parse the official good/junk index files; validates index ranges, one line per query, and that no gallery
 * image is both good and junk for the same query.
 */
export function readGoodJunk(gtFile: string, jkFile: string, numQueries: number, numGallery: number): VeRi776GoodJunk {
  const good = readIndexFile(gtFile, numQueries, numGallery);
  const junk = readIndexFile(jkFile, numQueries, numGallery);
  for (let q = 0; q < numQueries; q++) {
    const goodSet = new Set(good[q]);
    const both = junk[q]!.find((j) => goodSet.has(j));
    if (both !== undefined) {
      throw new DatasetFormatError(jkFile, q + 1, `index ${both + 1} is listed as both good (${basename(gtFile)}) and junk`);
    }
  }
  return { good, junk };
}
