/**
 * Progress reporting for long loops (feature extraction, epochs, re-ranking).
 *
 * On a TTY: one bar line redrawn in place (`\r` + clear-to-end), truncated to the terminal width, with
 * count, percent, rate and ETA. Elsewhere (CI logs, files, piped output): one plain line at most every
 * `intervalMs` plus a final summary line, so logs stay short and greppable. The clock and the stream are
 * injectable, so the reporter is pure with respect to time and output.
 */

/** The subset of a writable stream the reporter uses (`process.stderr` fits). */
export interface ProgressStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** Extra values shown after the counters, e.g. `{ loss: 0.413, lr: 3e-4 }`. */
export type ProgressInfo = Readonly<Record<string, number | string>>;

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** Expected number of steps; omit when unknown (no percent / ETA then). */
  readonly total?: number;
  /** Prefix of every line, e.g. `'extract query'`. */
  readonly label: string;
  /** Output stream (default `process.stderr`). */
  readonly stream?: ProgressStream;
  /** Force bar (true) or plain-line (false) mode; default `stream.isTTY`. */
  readonly isTTY?: boolean;
  /** Minimum time between plain lines in non-TTY mode (default 10 000 ms). */
  readonly intervalMs?: number;
  /** Minimum time between bar redraws in TTY mode (default 100 ms). */
  readonly redrawMs?: number;
  /** Clock in milliseconds (default `performance.now`). */
  readonly now?: () => number;
}

/** A running progress report. */
export interface Progress {
  /** Advance by `n` steps (default 1) and update the displayed `info` (merged into the previous info). */
  tick(n?: number, info?: ProgressInfo): void;
  /** Print the final state (bar completed / summary line). Idempotent. */
  done(info?: ProgressInfo): void;
  /** Steps counted so far. */
  readonly count: number;
}

const BAR_WIDTH = 24;

/** `m:ss` below an hour, `h:mm:ss` above; `?` for non-finite durations. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** `12.3 it/s`, or `4.20 s/it` when slower than one step per second. */
export function formatRate(stepsPerSecond: number): string {
  if (!Number.isFinite(stepsPerSecond) || stepsPerSecond <= 0) return '? it/s';
  if (stepsPerSecond < 1) return `${(1 / stepsPerSecond).toFixed(2)} s/it`;
  return `${stepsPerSecond < 100 ? stepsPerSecond.toFixed(1) : Math.round(stepsPerSecond)} it/s`;
}

function formatValue(v: number | string): string {
  if (typeof v === 'string') return v;
  if (Number.isInteger(v) || !Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 ? String(Number(v.toPrecision(4))) : v.toExponential(3);
}

function formatInfo(info: ProgressInfo): string {
  return Object.entries(info)
    .map(([k, v]) => ` ${k}=${formatValue(v)}`)
    .join('');
}

function checkCount(what: string, n: number | undefined, label: string): void {
  if (n !== undefined && (!Number.isFinite(n) || n < 0)) {
    throw new Error(`Progress '${label}': ${what} must be a finite number ≥ 0, got ${n}`);
  }
}

interface State {
  count: number;
  info: ProgressInfo;
  elapsedMs: number;
}

function counters(total: number | undefined, s: State): { head: string; tail: string } {
  const rate = s.elapsedMs > 0 ? (s.count * 1000) / s.elapsedMs : NaN;
  const elapsed = formatDuration(s.elapsedMs);
  if (total === undefined) return { head: `${s.count}`, tail: `${formatRate(rate)} elapsed ${elapsed}` };
  const pct = total > 0 ? Math.min(100, Math.floor((100 * s.count) / total)) : 100;
  const eta = s.count >= total ? 0 : ((total - s.count) * 1000) / rate;
  return { head: `${s.count}/${total} ${pct}%`, tail: `${formatRate(rate)} elapsed ${elapsed} ETA ${formatDuration(eta)}` };
}

function barLine(label: string, total: number | undefined, s: State): string {
  const { head, tail } = counters(total, s);
  let bar = '';
  if (total !== undefined) {
    const filled = total > 0 ? Math.min(BAR_WIDTH, Math.floor((BAR_WIDTH * s.count) / total)) : BAR_WIDTH;
    bar = ` [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
  }
  return `${label}${bar} ${head} ${tail}${formatInfo(s.info)}`;
}

function plainLine(label: string, total: number | undefined, s: State): string {
  const { head, tail } = counters(total, s);
  return `${label}: ${head} ${tail}${formatInfo(s.info)}`;
}

function summaryLine(label: string, total: number | undefined, s: State): string {
  const rate = s.elapsedMs > 0 ? (s.count * 1000) / s.elapsedMs : NaN;
  const of = total === undefined || total === s.count ? `${s.count}` : `${s.count}/${total}`;
  return `${label}: done ${of} in ${formatDuration(s.elapsedMs)} (${formatRate(rate)})${formatInfo(s.info)}`;
}

/**
 * Create a progress reporter.
 *
 * @example
 * const p = createProgress({ total: loader.length, label: 'epoch 3' });
 * for (const batch of loader) { …; p.tick(1, { loss }); }
 * p.done();
 */
export function createProgress(options: ProgressOptions): Progress {
  const { total, label } = options;
  checkCount('total', total, label);
  const stream = options.stream ?? process.stderr;
  const tty = options.isTTY ?? stream.isTTY === true;
  const now = options.now ?? (() => performance.now());
  const interval = tty ? (options.redrawMs ?? 100) : (options.intervalMs ?? 10_000);
  const start = now();
  let lastDraw = start;
  let finished = false;
  const state: State = { count: 0, info: {}, elapsedMs: 0 };

  const draw = (final: boolean): void => {
    state.elapsedMs = now() - start;
    if (tty) {
      const line = barLine(label, total, state);
      const cols = stream.columns ?? 0;
      const fitted = cols > 1 && line.length > cols - 1 ? line.slice(0, cols - 1) : line;
      stream.write(`\r${fitted}\x1b[K${final ? '\n' : ''}`);
    } else {
      stream.write(`${final ? summaryLine(label, total, state) : plainLine(label, total, state)}\n`);
    }
  };

  return {
    tick(n = 1, info?: ProgressInfo): void {
      if (finished) throw new Error(`Progress '${label}': tick() after done()`);
      checkCount('tick(n)', n, label);
      state.count += n;
      if (info !== undefined) state.info = { ...state.info, ...info };
      const t = now();
      if (t - lastDraw >= interval) {
        lastDraw = t;
        draw(false);
      }
    },
    done(info?: ProgressInfo): void {
      if (finished) return;
      finished = true;
      if (info !== undefined) state.info = { ...state.info, ...info };
      draw(true);
    },
    get count(): number {
      return state.count;
    },
  };
}
