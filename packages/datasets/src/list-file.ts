/**
 * Reading the plain-text list files shared by VeRi-776, VehicleID and VeRi-Wild, with the awkward cases real
 * copies of those datasets have: a UTF-8 byte-order mark, CRLF line endings, trailing spaces and blank lines.
 *
 * Blank (whitespace-only) lines carry no entry and are skipped; every other line is an entry and is reported
 * with its 1-based physical line number. Image existence is checked against one directory listing per folder
 * (a `Set` of names) instead of one `stat` per file, so 400k-line lists validate in well under a second.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { DatasetFormatError } from './errors';

/** A non-blank line of a list file: trimmed text and its 1-based line number. */
export interface ListLine {
  readonly text: string;
  readonly line: number;
}

/** How many missing images an error message lists before giving the total. */
export const MISSING_SHOWN = 5;

/** Read a UTF-8 text file, stripping a leading BOM; a missing file is a {@link DatasetFormatError}. */
export function readTextFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DatasetFormatError(file, undefined, code === 'ENOENT' ? 'required file not found' : `cannot read (${code})`);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** All physical lines (CR of CRLF removed); a final terminator does not create an extra empty line. */
export function physicalLines(text: string): string[] {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Non-blank lines of a list file, trimmed, with 1-based line numbers. */
export function readListLines(file: string): ListLine[] {
  const out: ListLine[] = [];
  physicalLines(readTextFile(file)).forEach((raw, i) => {
    const text = raw.trim();
    if (text !== '') out.push({ text, line: i + 1 });
  });
  return out;
}

/** Non-blank lines of a sample list; a list without any entry is a {@link DatasetFormatError} (nothing to train or test on). */
export function readEntryLines(file: string): ListLine[] {
  const lines = readListLines(file);
  if (lines.length === 0) throw new DatasetFormatError(file, undefined, 'list has no entries (the file is empty or only blank lines)');
  return lines;
}

/**
 * Query entries of an identity with no image in the gallery list can never be matched (a truncated or mixed-up
 * gallery list): one {@link DatasetFormatError} at the first, with the first few and the total.
 */
export function checkQueryIdsInGallery(
  queryFile: string,
  query: readonly { readonly vehicleId: number; readonly line: number }[],
  galleryFile: string,
  galleryIds: ReadonlySet<number>,
): void {
  const orphans = query.filter((q) => !galleryIds.has(q.vehicleId));
  if (orphans.length === 0) return;
  const shown = orphans.slice(0, MISSING_SHOWN).map((q) => `line ${q.line}: vehicle ${q.vehicleId}`);
  const more = orphans.length > MISSING_SHOWN ? `\n  … and ${orphans.length - MISSING_SHOWN} more` : '';
  throw new DatasetFormatError(
    queryFile,
    orphans[0]!.line,
    `${orphans.length} query image(s) of identities with no image in the gallery list ${galleryFile}:\n  ${shown.join('\n  ')}${more}`,
  );
}

/** A list entry as {@link checkTrainTestDisjoint} compares it: image key (e.g. `<vid>/<imgId>`), identity, line. */
export interface KeyedEntry {
  readonly key: string;
  readonly vehicleId: number;
  readonly line: number;
}

/**
 * Test-list entries whose image or vehicle id is also in the training list (the protocols need disjoint train
 * and test identities): one {@link DatasetFormatError} at the first, naming both files, the first few offending
 * lines with their training lines, and the total.
 */
export function checkTrainTestDisjoint(trainFile: string, train: readonly KeyedEntry[], testFile: string, test: readonly KeyedEntry[]): void {
  const trainImage = new Map<string, number>();
  const trainId = new Map<number, number>();
  for (const e of train) {
    trainImage.set(e.key, e.line);
    if (!trainId.has(e.vehicleId)) trainId.set(e.vehicleId, e.line);
  }
  const clashes: { line: number; text: string }[] = [];
  for (const e of test) {
    const imageLine = trainImage.get(e.key);
    const idLine = trainId.get(e.vehicleId);
    if (imageLine !== undefined) clashes.push({ line: e.line, text: `line ${e.line}: image ${e.key} is also train line ${imageLine}` });
    else if (idLine !== undefined) clashes.push({ line: e.line, text: `line ${e.line}: vehicle ${e.vehicleId} is a training identity (train line ${idLine})` });
  }
  if (clashes.length === 0) return;
  const shown = clashes.slice(0, MISSING_SHOWN).map((c) => c.text);
  const more = clashes.length > MISSING_SHOWN ? `\n  … and ${clashes.length - MISSING_SHOWN} more` : '';
  const what = clashes.length === 1 ? 'test entry shares its' : 'test entries share their';
  throw new DatasetFormatError(
    testFile,
    clashes[0]!.line,
    `${clashes.length} ${what} image or vehicle id with the training list ${trainFile} ` +
      `(the protocol needs disjoint train and test identities):\n  ${shown.join('\n  ')}${more}`,
  );
}

/** Rejects a second entry with the same key, naming the line of the first one. */
export class DuplicateGuard {
  private readonly seen = new Map<string, number>();

  constructor(private readonly file: string) {}

  check(key: string, line: number): void {
    const first = this.seen.get(key);
    if (first !== undefined) throw new DatasetFormatError(this.file, line, `duplicate entry "${key}" (first at line ${first})`);
    this.seen.set(key, line);
  }
}

/** Cached directory listings: one `readdir` per folder, then `Set` lookups. A missing folder lists as empty. */
export class DirectoryIndex {
  private readonly listings = new Map<string, ReadonlySet<string>>();

  /** Names in `dir` (empty when the folder does not exist). */
  names(dir: string): ReadonlySet<string> {
    let names = this.listings.get(dir);
    if (names === undefined) {
      try {
        names = new Set(readdirSync(dir));
      } catch {
        names = new Set();
      }
      this.listings.set(dir, names);
    }
    return names;
  }

  has(dir: string, name: string): boolean {
    return this.names(dir).has(name);
  }
}

/** Collects list entries whose image is missing and fails once, with the first few and the total. */
export class MissingImages {
  private readonly missing: { line: number; path: string }[] = [];

  constructor(private readonly file: string) {}

  add(line: number, path: string): void {
    this.missing.push({ line, path });
  }

  /** Throws a {@link DatasetFormatError} at the first missing entry when any image was missing. */
  throwIfAny(): void {
    if (this.missing.length === 0) return;
    const shown = this.missing.slice(0, MISSING_SHOWN).map((m) => `line ${m.line}: ${m.path}`);
    const more = this.missing.length > MISSING_SHOWN ? `\n  … and ${this.missing.length - MISSING_SHOWN} more` : '';
    throw new DatasetFormatError(
      this.file,
      this.missing[0]!.line,
      `${this.missing.length} listed image(s) missing on disk:\n  ${shown.join('\n  ')}${more}`,
    );
  }
}

/** Parse a non-negative decimal integer token (digits only); `undefined` when it is not one. */
export function parseNonNegInt(token: string): number | undefined {
  if (!/^\d+$/.test(token)) return undefined;
  const v = Number(token);
  return Number.isSafeInteger(v) ? v : undefined;
}
