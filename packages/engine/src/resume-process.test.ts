import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@clip-senet/core';
import { generateSyntheticWorld, type SyntheticWorld } from '@clip-senet/datasets';
import { loadCheckpoint } from './checkpoint';
import { runTraining, type RunTrainingResult } from './run';
import { tinyRunOptions } from './testing-run';

let dir: string;
let world: SyntheticWorld;
let full: RunTrainingResult;
beforeAll(async () => {
  await initBackend('wasm', { log: null, threads: 1 });
  dir = mkdtempSync(join(tmpdir(), 'engine-kill-'));
  world = generateSyntheticWorld({
    outDir: join(dir, 'world'), numTrainIds: 6, numTestIds: 4, numCameras: 4, camerasPerId: [2, 4], imagesPerIdPerCamera: [1, 2],
    queriesPerId: 1, imageSize: 32, numPretrainIds: 0,
  });
  full = await runTraining({ ...tinyRunOptions(world.root, join(dir, 'full')), keepModel: true });
});
afterAll(() => {
  full.model?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const script = fileURLToPath(new URL('./testing-run.ts', import.meta.url));

/** `testing-run.ts` (the tiny run) in a child process on `runDir`, collecting its stderr. */
function runChild(runDir: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', script, world.root, runDir], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CLIP_SENET_WASM_THREADS: '1' } });
  const out = { child, stderr: '', exited: new Promise<number | null>((r) => child.on('exit', (code) => r(code))) };
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  return out;
}

describe('resume across processes', () => {
  it('kill -9 mid-run, resume in another process: final weights and metrics equal an uninterrupted run; the killed process\'s temporary files are removed', async () => {
    const weights = (m: { params: ReadonlyMap<string, { dataSync(): ArrayLike<number> }>; buffers: ReadonlyMap<string, { dataSync(): ArrayLike<number> }> }) =>
      Object.fromEntries([...m.params, ...m.buffers].map(([k, v]) => [k, JSON.stringify(Array.from(v.dataSync()))]));

    const runDir = join(dir, 'killed');
    const killed = runChild(runDir);
    const { child, exited } = killed;
    const pointer = join(runDir, 'checkpoints', 'latest.json');
    const deadline = Date.now() + 60_000;
    while (!existsSync(pointer) && child.exitCode === null && Date.now() < deadline) await sleep(10);
    expect(child.exitCode, killed.stderr).toBeNull();
    child.kill('SIGKILL');
    await exited;
    // what a kill during a checkpoint write leaves: the half-written temporary file of a process that is gone
    const stale = join(runDir, 'checkpoints', `.ckpt-step-00000099.safetensors.tmp-${child.pid}-0-1`);
    writeFileSync(stale, 'half a checkpoint');
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
    expect(readdirSync(join(runDir, 'checkpoints')).filter((f) => f.includes('.tmp-'))).toEqual([]);
    resumed.model!.dispose();
  });

  it('a NaN flipped into the latest checkpoint is reported as damage and the run resumes from the previous one, ending as the uninterrupted run', async () => {
    const runDir = join(dir, 'damaged');
    await runTraining({ ...tinyRunOptions(world.root, runDir), stopAfterSteps: 5 }); // checkpoints at steps 4 and 5 are kept
    const ckpts = join(runDir, 'checkpoints');
    const latest = join(ckpts, 'ckpt-step-00000005.safetensors');
    const bytes = readFileSync(latest);
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets?: [number, number] }>;
    const key = Object.keys(header).find((k) => k.startsWith('param/appearance.'))!;
    bytes.writeFloatLE(NaN, 8 + n + header[key]!.data_offsets![0]);
    writeFileSync(latest, bytes);

    const io = runChild(runDir);
    expect(await io.exited, io.stderr).toBe(0);
    expect(io.stderr).toContain(`Checkpoint ${latest} is damaged: its content has sha256`);
    expect(io.stderr).toContain(`tensors holding NaN/Inf now: ${key}`);
    expect(io.stderr).toContain(`→ resuming from ${join(ckpts, 'ckpt-step-00000004.safetensors')} (step 4) instead`);
    expect(io.stderr).not.toMatch(/Non-finite/);
    expect(existsSync(`${latest}.damaged`)).toBe(true);
    const [a, b] = [loadCheckpoint(join(dir, 'full', 'checkpoints')), loadCheckpoint(ckpts)];
    expect(b.state.step).toBe(full.result.step);
    const bytesOf = (x: Float32Array | undefined): Buffer => (x ? Buffer.from(x.buffer, x.byteOffset, x.byteLength) : Buffer.alloc(0));
    expect([...a.params.keys()].filter((k) => !bytesOf(a.params.get(k)!.data).equals(bytesOf(b.params.get(k)?.data)))).toEqual([]);
    const results = JSON.parse(readFileSync(join(runDir, 'results.json'), 'utf8')) as { mAP: number };
    expect(results.mAP).toBe(full.evaluation!.mAP);
  });
});
