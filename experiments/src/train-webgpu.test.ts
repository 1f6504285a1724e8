/**
 * `CLIP_SENET_BACKEND=webgpu clip-senet train` (issue 14) as a user runs it: the tiny config (resnet-tiny + frozen
 * clip-vit-tiny SEM, AFEM fusion, CE + SupCon, Adam) trained in a child process on webgpu and on cpu logs the same
 * losses (within 1e-4 of the largest; the test prints the difference) and evaluates to the same mAP; the run records its backend.
 * In CI that is Mesa's llvmpipe (software GL); where no adapter exists the command must fail with one clear line
 * instead, and CLIP_SENET_REQUIRE_WEBGPU=1 (CI) makes that a failure of this test.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relativeError } from '@clip-senet/core/webgpu-testing';

const projectDir = fileURLToPath(new URL('..', import.meta.url));
const tiny = join(projectDir, 'configs', 'synthetic', 'tiny.yaml');
const LOSS_TOL = 1e-4;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}
function train(backend: 'webgpu' | 'cpu', runDir: string): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(projectDir, 'src', 'cli.ts'), 'train', '--config', tiny, '--set', 'train.maxSteps=6', '--run-dir', runDir, '--no-progress'],
      { cwd: projectDir, env: { ...process.env, CLIP_SENET_BACKEND: backend, CLIP_SENET_WASM_THREADS: '1' }, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
type Step = { type: string; step: number; loss: Record<string, number>; grad_norm: number };
const steps = (runDir: string): Step[] =>
  readFileSync(join(runDir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Step).filter((l) => l.type === 'step');
const results = (runDir: string): { mAP: number; rank1: number; backend: string } => JSON.parse(readFileSync(join(runDir, 'results.json'), 'utf8'));

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'clip-senet-train-webgpu-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CLIP_SENET_BACKEND=webgpu clip-senet train', () => {
  it("trains the tiny config with cpu's losses and mAP, or fails with one line where there is no adapter", async () => {
    const gpu = await train('webgpu', join(dir, 'webgpu'));
    if (gpu.code !== 0) {
      expect(process.env.CLIP_SENET_REQUIRE_WEBGPU, `CLIP_SENET_REQUIRE_WEBGPU=1 but the webgpu run failed:\n${gpu.stderr}`).not.toBe('1');
      expect(gpu.stderr).toMatch(/Backend 'webgpu' requested but unavailable: no WebGPU adapter .*apt-get install libegl1 libgles2 libgl1-mesa-dri/);
      return;
    }
    const line = gpu.stderr.split('\n').find((l) => l.includes('backend:'));
    expect(line).toMatch(/backend: webgpu \(CLIP_SENET_BACKEND\) — requested webgpu/);
    process.stderr.write(`[webgpu tests] ${line}\n`);
    const cpu = await train('cpu', join(dir, 'cpu'));
    expect(cpu.code, cpu.stderr).toBe(0);

    const [g, c] = [steps(join(dir, 'webgpu')), steps(join(dir, 'cpu'))];
    expect(g.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(c.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6]);
    const numbers = (log: Step[]): number[] => log.flatMap((s) => [...Object.values(s.loss), s.grad_norm]);
    const worst = relativeError(numbers(g), numbers(c));
    process.stderr.write(`[webgpu tests] CLI train, webgpu vs cpu: largest difference of a logged loss or gradient norm ${worst.toExponential(1)} of the largest\n`);
    expect(Number.isFinite(worst)).toBe(true);
    expect(worst).toBeLessThan(LOSS_TOL);

    const [rg, rc] = [results(join(dir, 'webgpu')), results(join(dir, 'cpu'))];
    expect(rg.backend).toMatch(/^webgpu(\+software)?$/);
    expect(rc.backend).toBe('cpu');
    expect(Math.abs(rg.mAP - rc.mAP)).toBeLessThan(1e-6);
    expect(rg.rank1).toBe(rc.rank1);
  });
});
