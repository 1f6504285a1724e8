import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { writeFileAtomic } from '@clip-senet/core/base';
import { curvesFigure, deltaFigure, meanCurve, rangeBand, rankedFigure, trainingFigure } from './figures';
import { niceTicks, wrapText } from './line-chart';
import { fakeRecord, fakeSummary, pngSize, standardRecord } from './testing';

const dir = mkdtempSync(join(tmpdir(), 'report-figures-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function solidPng(color: string): Buffer {
  const c = createCanvas(16, 16);
  const ctx = c.getContext('2d');
  ctx.fillStyle = color;
  ctx.fillRect(0, 0, 16, 16);
  return c.encodeSync('png');
}

describe('figures', () => {
  it('averages curves over the x values every seed has; ticks are 1/2/5 steps', () => {
    expect(meanCurve([[[0, 1], [10, 3]], [[0, 3], [5, 9], [10, 5]]])).toEqual([[0, 2], [10, 4]]);
    expect(niceTicks(0, 10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(80.3, 85.1)).toEqual([81, 82, 83, 84, 85]);
  });

  it('bands span min–max over the seeds at the x values every seed has', () => {
    expect(rangeBand([[[0, 1], [10, 3]], [[0, 3], [5, 9], [10, 5]]])).toEqual([[0, 1, 3], [10, 3, 5]]);
  });

  it('wraps a title into lines that fit, ending with … only when text is left over', () => {
    const measure = (t: string): number => t.length * 10; // 10 px per character
    const title = 'Main ablation: semantic branch, AFEM and fusion (Table IV rows 1–3 + fusion variants): mAP during training';
    const lines = wrapText(title, 400, measure);
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(measure(l)).toBeLessThanOrEqual(400);
    expect(lines[1]!.endsWith('…')).toBe(true);
    expect(wrapText('short title', 400, measure)).toEqual(['short title']);
    expect(wrapText('two lines of words here', 120, measure)).toEqual(['two lines of', 'words here']);
    expect(measure(wrapText('a-single-word-far-too-long-for-the-line', 100, measure)[0]!)).toBeLessThanOrEqual(100);
  });

  it('draws the Δ forest plot when a variant has a paired interval, and none for the baseline alone', async () => {
    const seeds = [1, 2, 3];
    const record = fakeRecord('f', [{ name: 'base', paper: [] }, { name: 'v', paper: [] }], seeds, (v, s) =>
      fakeSummary('k', s, { mAP: v === 'base' ? 0.3 + s / 100 : 0.35 + s / 100 + (s === 2 ? 0.001 : 0), rank1: 0.5, rank5: 0.5, mINP: 0.5 }));
    const png = deltaFigure(record)!;
    const img = await loadImage(png);
    expect(img.width).toBe(640);
    expect(deltaFigure(fakeRecord('g', [{ name: 'base', paper: [] }], seeds, (_v, s) => fakeSummary('k', s, { mAP: 0.3, rank1: 0.5, rank5: 0.5, mINP: 0.5 })))).toBeUndefined();
  });

  it('draws training and evaluation curves as decodable PNGs', async () => {
    const record = standardRecord();
    for (const png of [trainingFigure(record)!, curvesFigure(record)!]) {
      expect(pngSize(png)).toEqual({ width: 800, height: 480 });
      const img = await loadImage(png);
      expect([img.width, img.height]).toEqual([800, 480]);
    }
  });

  it('has no curves figure without evaluation points and no training figure without finished runs', () => {
    const noEval = fakeRecord('a', [{ name: 'x', paper: [] }], [1], (_v, s) => fakeSummary('k', s, { mAP: 0.5, rank1: 0.5, rank5: 0.5, mINP: 0.5 }));
    expect(curvesFigure(noEval)).toBeUndefined();
    expect(trainingFigure(noEval)).toBeDefined();
    expect(trainingFigure(fakeRecord('b', [{ name: 'x', paper: [] }], [1], () => null))).toBeUndefined();
  });

  it('draws ranked lists with the images, and skips them when images are missing', async () => {
    writeFileAtomic(join(dir, 'q.png'), solidPng('#3050ff'));
    for (let i = 0; i < 10; i++) writeFileAtomic(join(dir, 'g', `${i}.png`), solidPng(i % 3 === 0 ? '#00ff00' : '#ff00ff'));
    const ranked = [{ query: 'q.png', gallery: Array.from({ length: 10 }, (_, i) => ({ path: `g/${i}.png`, match: i % 3 === 0 })) }];
    const withImages = (root: string) =>
      fakeRecord('r', [{ name: 'x', paper: [] }], [1], (_v, s) => fakeSummary('k', s, { mAP: 0.5, rank1: 0.5, rank5: 0.5, mINP: 0.5 }, { ranked, datasetRoot: root }));
    const ok = rankedFigure(withImages(dir), 40);
    expect('png' in ok).toBe(true);
    if (!('png' in ok)) return;
    const img = await loadImage(ok.png);
    // 11 cells of 40 + 6 px border each, a 12 px gap, 6 px margin; one row of 16 px label + 46 px
    expect([img.width, img.height]).toEqual([11 * 46 + 12 + 6, 16 + 40 + 6 + 6]);
    const missing = rankedFigure(withImages(join(dir, 'elsewhere')));
    expect(missing).toEqual({ skipped: expect.stringMatching(/^11 of 11 images missing on this machine/) as unknown as string });
    expect(rankedFigure(standardRecord())).toEqual({ skipped: 'no finished run has ranked lists' });
  });
});
