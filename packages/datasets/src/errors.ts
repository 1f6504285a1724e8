/**
 * Errors raised by the dataset readers (PROTOCOLS.md: "fail loudly on anything unexpected").
 *
 * Every problem that can be pinned to a list file is a {@link DatasetFormatError} carrying the file and the
 * 1-based line, so a user can open the file at the line and see it. Count mismatches against the published
 * numbers are warnings by default and a {@link DatasetCountError} under `strict: true`.
 */

/** A list/label/index file is malformed, inconsistent, or refers to images that do not exist. */
export class DatasetFormatError extends Error {
  /** Absolute path of the offending file (or folder, when a required folder is missing). */
  readonly file: string;
  /** 1-based line of the (first) offending entry; `undefined` when the problem concerns the whole file. */
  readonly line: number | undefined;

  constructor(file: string, line: number | undefined, problem: string) {
    super(`${line === undefined ? file : `${file}:${line}`}: ${problem}`);
    this.name = 'DatasetFormatError';
    this.file = file;
    this.line = line;
  }
}

/** On-disk counts differ from the expected (published) ones and the reader runs with `strict: true`. */
export class DatasetCountError extends Error {
  /** One line per mismatching quantity. */
  readonly mismatches: readonly string[];

  constructor(dataset: string, mismatches: readonly string[]) {
    super(`${dataset}: counts differ from the expected ones (strict mode):\n  ${mismatches.join('\n  ')}`);
    this.name = 'DatasetCountError';
    this.mismatches = mismatches;
  }
}
