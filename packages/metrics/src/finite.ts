/**
 * Non-finite guard (issue 15, "nothing silently wrong"): a NaN or ±Infinity feature or distance has no rank, and
 * the distance kernels would quietly turn it into a number (a NaN cosine denominator gives distance 1, a NaN
 * squared distance is clamped to 0), so an all-NaN model would score a believable mAP. Every metrics entry point
 * checks its inputs with {@link assertFiniteRows} and fails with one message saying how many rows are bad and
 * where the first one is.
 */

/** Where the non-finite values of a row-major matrix are. */
export interface NonFiniteRows {
  /** Rows holding at least one NaN / ±Infinity. */
  readonly count: number;
  /** All rows. */
  readonly rows: number;
  /** First such row (0-based). */
  readonly firstRow: number;
  /** Its first non-finite column. */
  readonly firstColumn: number;
  /** The value there (NaN, Infinity or -Infinity). */
  readonly value: number;
}

/** How {@link assertFiniteRows} names the rows in its message. */
export interface FiniteCheckOptions {
  /** Index of the first row of `values` in the whole set (streamed blocks); default 0. */
  readonly rowOffset?: number;
  /** Name of a row, e.g. its image path; shown next to the first bad row's index. */
  readonly rowName?: (row: number) => string | undefined;
  /** What a row is, e.g. 'query row' (default 'row'). */
  readonly rowNoun?: string;
  /** What a column is, e.g. 'gallery column' (default 'column'). */
  readonly columnNoun?: string;
}

/**
 * Find the rows of a row-major [rows × rowLength] matrix that hold a NaN or ±Infinity; undefined when every
 * value is finite. `v - v` is 0 exactly for finite v and NaN otherwise, which keeps the scan branch-light.
 */
export function findNonFiniteRows(values: ArrayLike<number>, rowLength: number): NonFiniteRows | undefined {
  if (!Number.isInteger(rowLength) || rowLength <= 0) throw new Error(`findNonFiniteRows: rowLength must be a positive integer, got ${rowLength}`);
  const rows = Math.floor(values.length / rowLength);
  let count = 0;
  let firstRow = -1;
  for (let r = 0; r < rows; r++) {
    const o = r * rowLength;
    let bad = 0;
    for (let c = 0; c < rowLength; c++) bad += values[o + c] - values[o + c];
    if (bad === 0) continue;
    count++;
    if (firstRow < 0) firstRow = r;
  }
  if (count === 0) return undefined;
  let firstColumn = 0;
  while (Number.isFinite(values[firstRow * rowLength + firstColumn])) firstColumn++;
  return { count, rows, firstRow, firstColumn, value: values[firstRow * rowLength + firstColumn] };
}

/** The message of a failed check: `<what>: 3 of 24 rows are not finite (NaN or ±Infinity); first: row 5 (a.jpg), column 2 = NaN`. */
export function nonFiniteMessage(what: string, found: NonFiniteRows, options: FiniteCheckOptions = {}): string {
  const row = found.firstRow + (options.rowOffset ?? 0);
  const name = options.rowName?.(row);
  const rowNoun = options.rowNoun ?? 'row';
  return (
    `${what}: ${found.count} of ${found.rows} ${rowNoun}s ${found.count === 1 ? 'is' : 'are'} not finite (NaN or ±Infinity); ` +
    `first: ${rowNoun} ${row}${name !== undefined ? ` (${name})` : ''}, ${options.columnNoun ?? 'column'} ${found.firstColumn} = ${found.value}`
  );
}

/** Throw one error naming `what`, the number of non-finite rows and the first one, unless every value is finite. */
export function assertFiniteRows(values: ArrayLike<number>, rowLength: number, what: string, options: FiniteCheckOptions = {}): void {
  const found = findNonFiniteRows(values, rowLength);
  if (found) throw new Error(nonFiniteMessage(what, found, options));
}
