import { describe, expect, it } from 'vitest';
import type { Sample } from '@clip-senet/datasets';
import { trainingLabels } from './model-loss';

const sample = (path: string, vehicleId: number, label?: number): Sample => ({ path, vehicleId, cameraId: 0, ...(label !== undefined ? { label } : {}) }) as Sample;

describe('trainingLabels', () => {
  it('passes training labels through and names a sample without one', () => {
    const ok = { labels: Int32Array.from([0, 3]), samples: [sample('a.jpg', 10, 0), sample('b.jpg', 42, 3)] };
    expect(trainingLabels(ok)).toBe(ok.labels);
    const bad = { labels: Int32Array.from([0, -1]), samples: [sample('a.jpg', 10, 0), sample('query/q.jpg', 42)] };
    expect(() => trainingLabels(bad)).toThrow("training batch: sample 'query/q.jpg' (vehicle 42) has no training label");
  });
});
