import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@clip-senet/core';
import { generateSyntheticWorld } from '@clip-senet/datasets';
import { runTraining } from './run';
import { tinyRunOptions } from './testing-run';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm', { log: null, threads: 1 });
  dir = mkdtempSync(join(tmpdir(), 'engine-kill-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('resume across processes', () => {
  it('kill -9 mid-run, resume in another process: final weights and metrics equal an uninterrupted run', async () => {
    const world = generateSyntheticWorld({
      outDir: join(dir, 'world'), numTrainIds: 6, numTestIds: 4, numCameras: 4, camerasPerId: [2, 4], imagesPerIdPerCamera: [1, 2],
      queriesPerId: 1, imageSize: 32, numPretrainIds: 0,
    });
    const weights = (m: { params(): Map<string, { dataSync(): ArrayLike<number> }>; buffers(): Map<string, { dataSync(): ArrayLike<number> }> }) =>
      Object.fromEntries([...m.params(), ...m.buffers()].map(([k, v]) => [k, JSON.stringify(Array.from(v.dataSync()))]));

    const full = await runTraining({ ...tinyRunOptions(world.root, join(dir, 'full')), keepModel: true });

    const runDir = join(dir, 'killed');
    const script = fileURLToPath(new URL('./testing-run.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, world.root, runDir], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CLIP_SENET_WASM_THREADS: '1' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const pointer = join(runDir, 'checkpoints', 'latest.json');
    const deadline = Date.now() + 60_000;
    while (!existsSync(pointer) && child.exitCode === null && Date.now() < deadline) await sleep(10);
    expect(child.exitCode, stderr).toBeNull();
    child.kill('SIGKILL');
    await exited;
    const killedAt = JSON.parse(readFileSync(pointer, 'utf8')) as { step: number };
    expect(killedAt.step).toBeLessThan(full.result.step);
    expect(existsSync(join(runDir, 'results.json'))).toBe(false);

    const resumed = await runTraining({ ...tinyRunOptions(world.root, runDir), keepModel: true });
    expect(resumed.result.step).toBe(full.result.step);
    const [a, b] = [weights(full.model!), weights(resumed.model!)];
    expect(Object.keys(a).filter((k) => a[k] !== b[k])).toEqual([]);
    expect(resumed.evaluation!.mAP).toBe(full.evaluation!.mAP);
    expect(resumed.evaluation!.rank1).toBe(full.evaluation!.rank1);
    const steps = readFileSync(join(runDir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);
    expect(steps).toEqual(Array.from({ length: full.result.step }, (_, i) => i + 1));
    full.model!.dispose();
    resumed.model!.dispose();
  });
});
