/**
 * The Slurm job checks on a real plan and a real runs folder: squeue's output parsed; a runs folder holding the mark
 * of a long-running task passes, one holding none of them is an error naming the folder and the tasks, and tasks
 * that started moments ago are not held against it. (The real-cluster path runs in experiments:slurm-test.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAblation } from './definition';
import { checkJobGrid, checkRunsShared, elapsedSeconds, parseRunningTasks } from './job-checks';
import { planAblation } from './plan';

const dir = mkdtempSync(join(tmpdir(), 'clip-senet-job-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const main = fileURLToPath(new URL('../../configs/ablations/main.yaml', import.meta.url));
const plan = planAblation(loadAblation(main), { profile: 'smoke', overrides: [] });

describe('Slurm job checks', () => {
  it("parses squeue's task ids and elapsed times", () => {
    expect(['0:07', '12:34', '1:02:03', '2-01:00:00'].map(elapsedSeconds)).toEqual([7, 754, 3723, 176400]);
    expect(parseRunningTasks('1 0:07\n3 1:02:03\n\n')).toEqual([{ task: '1', seconds: 7 }, { task: '3', seconds: 3723 }]);
  });

  it("a runs folder with none of the running tasks' marks is not shared; one mark is enough", () => {
    const shared = join(dir, 'shared');
    const job = (task: string) => ({ SLURM_ARRAY_JOB_ID: '77', SLURM_ARRAY_TASK_ID: task });
    // task 2 on another node wrote its mark into the same (shared) folder
    checkJobGrid(plan, shared, { index: 2, count: 3 }, job('2'));
    checkJobGrid(plan, shared, { index: 1, count: 3 }, job('1'));
    expect(() => checkRunsShared(plan, shared, job('1'), () => [{ task: '2', seconds: 300 }, { task: '3', seconds: 300 }])).not.toThrow();
    // a node-local folder: task 1 sees only itself while 2 and 3 have been running for minutes
    const local = join(dir, 'local');
    checkJobGrid(plan, local, { index: 1, count: 3 }, job('1'));
    expect(() => checkRunsShared(plan, local, job('1'), () => [{ task: '1', seconds: 400 }, { task: '2', seconds: 300 }, { task: '3', seconds: 90 }]))
      .toThrow(`${local} holds no trace of tasks 2, 3 of Slurm job 77, running for 90 s or more: the runs folder is not shared between the nodes`);
    // tasks that only just started may not have written their mark yet
    expect(() => checkRunsShared(plan, local, job('1'), () => [{ task: '2', seconds: 5 }])).not.toThrow();
    // marks are per job: a task on another ablation of the same job finds them
    const other = planAblation(loadAblation(fileURLToPath(new URL('../../configs/ablations/afem-groups.yaml', import.meta.url))), { profile: 'smoke', overrides: [] });
    expect(() => checkRunsShared(other, shared, job('1'), () => [{ task: '2', seconds: 300 }])).not.toThrow();
    // outside Slurm: nothing to check
    expect(() => checkRunsShared(plan, local, {}, () => [{ task: '2', seconds: 300 }])).not.toThrow();
  });
});
