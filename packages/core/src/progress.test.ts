import { describe, expect, it } from 'vitest';
import { createProgress, formatDuration, formatRate } from './progress';

function fakeStream(isTTY: boolean, columns?: number): { chunks: string[]; write(s: string): boolean; isTTY: boolean; columns?: number } {
  const chunks: string[] = [];
  return { chunks, isTTY, columns, write: (s: string) => chunks.push(s) > 0 };
}

function fakeClock(): { now: () => number; advance(ms: number): void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('formatDuration / formatRate', () => {
  it('formats durations', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(61_400)).toBe('1:01');
    expect(formatDuration(3_725_000)).toBe('1:02:05');
    expect(formatDuration(Infinity)).toBe('?');
    expect(formatDuration(NaN)).toBe('?');
  });

  it('formats rates', () => {
    expect(formatRate(12.345)).toBe('12.3 it/s');
    expect(formatRate(1234.5)).toBe('1235 it/s');
    expect(formatRate(0.25)).toBe('4.00 s/it');
    expect(formatRate(0)).toBe('? it/s');
  });
});

describe('createProgress (plain lines)', () => {
  it('prints at most once per interval, then a final summary', () => {
    const stream = fakeStream(false);
    const clock = fakeClock();
    const p = createProgress({ total: 100, label: 'extract', stream, now: clock.now, intervalMs: 10_000 });
    for (let i = 0; i < 10; i++) {
      clock.advance(1000);
      p.tick(5, { loss: 1 / (i + 1) });
    }
    expect(stream.chunks).toEqual(['extract: 50/100 50% 5.0 it/s elapsed 0:10 ETA 0:10 loss=0.1\n']);
    clock.advance(4000);
    p.tick(40);
    expect(stream.chunks).toHaveLength(1);
    clock.advance(1000);
    p.tick(10, { acc: 0.98765 });
    p.done();
    expect(stream.chunks).toHaveLength(2);
    expect(stream.chunks[1]).toBe('extract: done 100 in 0:15 (6.7 it/s) loss=0.1 acc=0.9877\n');
    expect(p.count).toBe(100);
  });

  it('defaults to a 10 s interval and handles unknown totals', () => {
    const stream = fakeStream(false);
    const clock = fakeClock();
    const p = createProgress({ label: 'scan', stream, now: clock.now });
    clock.advance(9_999);
    p.tick(3);
    expect(stream.chunks).toEqual([]);
    clock.advance(1);
    p.tick();
    expect(stream.chunks).toEqual(['scan: 4 2.50 s/it elapsed 0:10\n']);
    p.done({ files: 4, note: 'ok' });
    expect(stream.chunks[1]).toBe('scan: done 4 in 0:10 (2.50 s/it) files=4 note=ok\n');
  });

  it('reports a partial count in the summary and is idempotent on done()', () => {
    const stream = fakeStream(false);
    const clock = fakeClock();
    const p = createProgress({ total: 10, label: 'epoch 1', stream, now: clock.now });
    clock.advance(2000);
    p.tick(4);
    p.done();
    p.done();
    expect(stream.chunks).toEqual(['epoch 1: done 4/10 in 0:02 (2.0 it/s)\n']);
    expect(() => p.tick()).toThrow("Progress 'epoch 1': tick() after done()");
  });

  it('validates counts', () => {
    expect(() => createProgress({ total: -1, label: 'x', stream: fakeStream(false) })).toThrow(/total must be a finite number ≥ 0, got -1/);
    const p = createProgress({ total: 3, label: 'x', stream: fakeStream(false) });
    expect(() => p.tick(NaN)).toThrow(/tick\(n\) must be a finite number/);
  });
});

describe('createProgress (TTY bar)', () => {
  it('redraws one line in place with bar, rate and ETA, and ends with a newline', () => {
    const stream = fakeStream(true);
    const clock = fakeClock();
    const p = createProgress({ total: 8, label: 'gallery', stream, now: clock.now });
    clock.advance(50);
    p.tick(); // throttled (< 100 ms)
    expect(stream.chunks).toEqual([]);
    clock.advance(950);
    p.tick(1, { mAP: 0.81234 });
    expect(stream.chunks).toEqual(['\rgallery [######..................] 2/8 25% 2.0 it/s elapsed 0:01 ETA 0:03 mAP=0.8123\x1b[K']);
    clock.advance(3000);
    p.tick(6);
    p.done();
    expect(stream.chunks.at(-1)).toBe('\rgallery [########################] 8/8 100% 2.0 it/s elapsed 0:04 ETA 0:00 mAP=0.8123\x1b[K\n');
    expect(stream.chunks.join('')).not.toMatch(/\n(?!$)/);
  });

  it('truncates to the terminal width and honours an explicit isTTY', () => {
    const stream = fakeStream(false, 30);
    const clock = fakeClock();
    const p = createProgress({ total: 2, label: 'a-very-long-label-for-a-narrow-terminal', stream, isTTY: true, now: clock.now });
    p.done();
    expect(stream.chunks).toEqual(['\ra-very-long-label-for-a-narro\x1b[K\n']);
  });

  it('clamps the bar when the count exceeds the total', () => {
    const stream = fakeStream(true);
    const clock = fakeClock();
    const p = createProgress({ total: 2, label: 'x', stream, now: clock.now });
    clock.advance(1000);
    p.tick(5);
    expect(stream.chunks[0]).toContain('[########################] 5/2 100%');
  });
});
