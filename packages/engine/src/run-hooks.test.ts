import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@clip-senet/core';
import { tempDirs } from '@clip-senet/core/testing';
import { jsonlLog } from './hooks';
import { buildOptimizer } from './optimizer-config';
import { runHooks } from './run-hooks';
import type { StepInfo, TrainContext, TrainHook } from './train';

const dirs = tempDirs('engine-run-hooks-');
beforeAll(async () => {
  await initBackend();
});

const names = (hooks: readonly TrainHook[]): string[] => hooks.map((h) => h.name ?? '?');

describe('runHooks', () => {
  it('orders guard, log, leak guard, bar, the run\'s own hooks, checkpoint; each can be left out', () => {
    const params = new Map([['w', tf.variable(tf.zeros([1]))]]);
    const optimizer = buildOptimizer({ name: 'sgd', lr: 0.1 }, params);
    const own: TrainHook = { name: 'own' };
    const log = jsonlLog(`${dirs.make()}/log.jsonl`);
    expect(names(runHooks({ log, progress: {}, extra: [own], checkpoint: { dir: dirs.make(), params, optimizer } })))
      .toEqual(['non-finite-guard', 'jsonl-log', 'leak-guard', 'progress', 'own', 'checkpoint']);
    expect(names(runHooks({ extra: [own] }))).toEqual(['non-finite-guard', 'leak-guard', 'own']);
    expect(names(runHooks({ nonFinite: false, leakTolerance: null, progress: false }))).toEqual([]);
    optimizer.dispose();
    for (const v of params.values()) v.dispose();
  });

  it('passes the leak tolerance to the guard', () => {
    const step = (hook: TrainHook, k: number): void => {
      void hook.onStepEnd?.({} as TrainContext, { step: k } as StepInfo);
    };
    const held: tf.Tensor[] = [];
    const [strict] = runHooks({ nonFinite: false });
    const [lenient] = runHooks({ nonFinite: false, leakTolerance: 1 });
    for (const k of [0, 1]) {
      step(strict!, k);
      step(lenient!, k);
    }
    held.push(tf.zeros([1])); // one tensor more than the baseline after step 2
    expect(() => step(lenient!, 2)).not.toThrow();
    expect(() => step(strict!, 2)).toThrow(/Tensor leak/);
    tf.dispose(held);
  });
});
