import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, Rng } from '@clip-senet/core';
import { buildTextEncoder, WordTokenizer } from '@clip-senet/backbones';
import { captionFor, captionRecord, makeIdentities, type CaptionRecord, type View } from '@clip-senet/datasets';
import { counterfactualCaption, probeAccuracy, zeroShotAccuracy } from './zero-shot';

beforeAll(async () => {
  await initBackend('wasm', { log: null, threads: 1 });
});

const ids = makeIdentities([1, 2, 3, 4, 5, 6, 7, 8], new Rng(11), { idsPerModel: 2 });
const views: View[] = ['front', 'side', 'rear-three-quarter', 'rear'];
const records: CaptionRecord[] = ids.flatMap((id, i) => [captionRecord(`images/${i}a.jpg`, id, views[i % 4]!), captionRecord(`images/${i}b.jpg`, id, views[(i + 1) % 4]!)]);

describe('counterfactual prompts', () => {
  it('re-render a caption with one attribute replaced and everything else kept', () => {
    const r = records[0]!;
    const id = ids[0]!;
    const other = r.attributes.colour === 'red' ? 'blue' : 'red';
    expect(counterfactualCaption(r, 'colour', other)).toBe(captionFor({ ...id, colour: other }, r.attributes.view));
    expect(counterfactualCaption(r, 'type', 'bus')).toBe(captionFor({ ...id, type: 'bus' }, r.attributes.view));
    // a new view also changes which details are visible, exactly as the generator's grammar says
    expect(counterfactualCaption(r, 'view', 'side')).toBe(captionFor(id, 'side'));
    expect(counterfactualCaption(r, 'colour', r.attributes.colour)).toBe(r.caption);
  });
});

describe('zeroShotAccuracy', () => {
  it('classes come from the training captions; chance and majority are the baselines of the held-out labels', () => {
    const train = records.slice(0, 10);
    const heldOut = records.slice(10);
    const tokenizer = WordTokenizer.fromCaptions(train.map((r) => r.caption), { contextLength: 26 });
    const text = buildTextEncoder({ name: 'clip-text', vocabSize: tokenizer.vocabSize, contextLength: 26, width: 16, layers: 1, heads: 2, outputDim: 8 }, { rng: new Rng(3) });
    const rng = new Rng(4);
    const emb = heldOut.map(() => Float32Array.from({ length: 8 }, () => rng.normal()));
    const report = zeroShotAccuracy(emb, heldOut, train, { text, tokenizer }, { promptRecords: 4 });
    text.dispose();
    for (const attr of ['colour', 'type', 'view'] as const) {
      const classes = [...new Set(train.map((r) => r.attributes[attr] as string))].sort();
      const a = report[attr];
      expect(a.classes).toEqual(classes);
      expect(a.chance).toBeCloseTo(1 / classes.length, 12);
      const counts = new Map<string, number>();
      for (const r of heldOut) counts.set(r.attributes[attr], (counts.get(r.attributes[attr]) ?? 0) + 1);
      expect(a.majority).toBeCloseTo(Math.max(...counts.values()) / heldOut.length, 12);
      expect(a.balancedChance).toBeCloseTo(1 / counts.size, 12);
      // recall per held-out value, whose mean is the balanced accuracy
      expect(Object.keys(a.recall)).toEqual([...counts.keys()].sort());
      expect(Object.values(a.recall).reduce((x, y) => x + y, 0) / counts.size).toBeCloseTo(a.balancedAccuracy, 12);
      expect(a.balancedAccuracy).toBeGreaterThanOrEqual(0);
      expect(a.balancedAccuracy).toBeLessThanOrEqual(1);
      expect(a.numImages).toBe(heldOut.length);
      expect(a.accuracy * heldOut.length).toBeCloseTo(Math.round(a.accuracy * heldOut.length), 9);
      // per-view accuracies partition the held-out set and recombine to the overall accuracy
      const byView = Object.entries(a.byView);
      expect(byView.map(([v]) => v)).toEqual([...new Set(heldOut.map((r) => r.attributes.view))].sort());
      expect(byView.reduce((s, [, x]) => s + x.numImages, 0)).toBe(heldOut.length);
      expect(byView.reduce((s, [, x]) => s + x.accuracy * x.numImages, 0) / heldOut.length).toBeCloseTo(a.accuracy, 12);
    }
    expect(() => zeroShotAccuracy(emb.slice(1), heldOut, train, { text, tokenizer })).toThrow(/embeddings for/);
  });
});

describe('probeAccuracy', () => {
  it('assigns each held-out image the value of the nearest training-class mean direction, per attribute', () => {
    // train: two images per colour; red points along x, blue along y (lengths differ: directions count, not norms)
    const rec = (colour: string, type: string): CaptionRecord => ({ ...records[0]!, attributes: { ...records[0]!.attributes, colour: colour as never, type: type as never } });
    const train = [rec('red', 'bus'), rec('red', 'van'), rec('blue', 'bus'), rec('blue', 'van')];
    const trainEmb = [[5, 0.1], [1, -0.1], [0.1, 3], [-0.1, 1]].map((r) => Float32Array.from(r));
    // held out: one clearly red, one clearly blue, one red-ish labelled blue (a miss)
    const heldOut = [rec('red', 'bus'), rec('blue', 'van'), rec('blue', 'bus')];
    const heldEmb = [[2, 0.5], [0.2, 4], [3, 1]].map((r) => Float32Array.from(r));
    const p = probeAccuracy(trainEmb, train, heldEmb, heldOut);
    expect(p.colour).toBeCloseTo(2 / 3, 12);
    // type means (of unit rows): bus ≈ (0.712, 0.702), van = (0.707, 0.707); held-out scores bus / van:
    // (2, 0.5) 1.775 / 1.768 → bus ✓, (0.2, 4) 2.950 / 2.970 → van ✓, (3, 1) 2.838 / 2.828 → bus ✓
    expect(p.type).toBe(1);
    expect(() => probeAccuracy(trainEmb.slice(1), train, heldEmb, heldOut)).toThrow(/embeddings for/);
  });
});
