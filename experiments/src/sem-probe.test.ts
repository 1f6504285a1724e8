/**
 * The supervised SEM probe on the engine's training loop: one entry per epoch, a confusion matrix over every held-out
 * image, the same numbers for the same seed, no leaked tensors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaks, initBackend } from '@clip-senet/core';
import { generateSyntheticWorld } from '@clip-senet/datasets';
import type { PretrainSemConfigInput } from '@clip-senet/engine';
import { runSupervisedProbe, type ProbeEpoch, type SupervisedProbeOptions } from './sem-probe';

let dir: string;
let worldRoot: string;
beforeAll(async () => {
  await initBackend('wasm', { log: null, threads: 1 });
  dir = mkdtempSync(join(tmpdir(), 'clip-senet-sem-probe-'));
  // 16 captioned identities × 4 images; a quarter of the identities held out: 48 training images, 16 held out
  worldRoot = generateSyntheticWorld({
    outDir: join(dir, 'world'), numTrainIds: 2, numTestIds: 2, numCameras: 3, camerasPerId: [2, 3], imagesPerIdPerCamera: [1, 1],
    queriesPerId: 1, imageSize: 32, numPretrainIds: 16, pretrainImagesPerId: 4,
  }).root;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// the default tiny CLIP ViT; 3 steps of 16 per epoch
const CONFIG: PretrainSemConfigInput = { batchSize: 16, workers: 0, holdoutFraction: 0.25, optimizer: { name: 'adamw', lr: 2e-3, weightDecay: 0.01 } };

describe('runSupervisedProbe (SEM image tower + linear head on one attribute, trained by the engine loop)', () => {
  it('reports each epoch, a confusion matrix over every held-out image, the same numbers twice, and leaks no tensor', async () => {
    const seen: ProbeEpoch[] = [];
    const opts: SupervisedProbeOptions = { worldRoot, config: CONFIG, attribute: 'colour', epochs: 2, onEpoch: (e, n) => (expect(n).toBe(16), seen.push(e)) };
    const [first, second] = await expectNoLeaks(async () => [await runSupervisedProbe(opts), await runSupervisedProbe(opts)] as const, 'two probe runs');

    expect(first.result).toEqual({ reason: 'completed', step: 6, epoch: 2 });
    expect(first.heldOut).toBe(16);
    expect(first.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    for (const e of first.epochs) {
      expect(Number.isFinite(e.trainLoss)).toBe(true);
      expect(e.trainLoss).toBeGreaterThan(0);
      expect(e.accuracy).toBeGreaterThanOrEqual(0);
      expect(e.accuracy).toBeLessThanOrEqual(1);
      expect(e.accuracy * 16).toBeCloseTo(Math.round(e.accuracy * 16), 9);
    }
    expect(seen).toEqual([...first.epochs, ...second.epochs]);

    // rows: every held-out value; columns: the head's (training) classes; the diagonal is the last epoch's accuracy
    const c = first.confusion!;
    expect(c.counts).toHaveLength(c.truths.length);
    for (const row of c.counts) expect(row).toHaveLength(c.guesses.length);
    expect(c.counts.flat().reduce((s, n) => s + n, 0)).toBe(16);
    const right = c.truths.reduce((s, t, i) => s + (c.guesses.includes(t) ? c.counts[i]![c.guesses.indexOf(t)]! : 0), 0);
    expect(right / 16).toBe(first.epochs[1]!.accuracy);

    // deterministic for a seed; another seed is another run
    expect(second).toEqual(first);
    const other = await runSupervisedProbe({ ...opts, config: { ...CONFIG, seed: 1 }, onEpoch: undefined });
    expect(other.epochs.map((e) => e.trainLoss)).not.toEqual(first.epochs.map((e) => e.trainLoss));
  });

  it('refuses an epoch count that is not a positive integer, and a batch larger than the training set', async () => {
    await expect(runSupervisedProbe({ worldRoot, config: CONFIG, attribute: 'type', epochs: 0 })).rejects.toThrow(/epochs must be a positive integer, got 0/);
    await expect(runSupervisedProbe({ worldRoot, config: { ...CONFIG, batchSize: 64 }, attribute: 'type', epochs: 1 })).rejects.toThrow(/runSupervisedProbe \(pretrainSem\.batchSize\): 48 training images < batch size 64/);
  });
});
