import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors } from '@clip-senet/core';
import { syntheticWorldDir } from './data';
import { parseConfigText } from './testing';
import { commands, main } from './cli';
import type { ExperimentConfig } from './config';
import { fusions } from '@clip-senet/afem';
import { backbones } from '@clip-senet/backbones';
import { losses } from '@clip-senet/losses';

const run = promisify(execFile);
const projectDir = fileURLToPath(new URL('..', import.meta.url));
const tiny = join(projectDir, 'configs', 'synthetic', 'tiny.yaml');

function capture(): { io: { out: (t: string) => void; err: (t: string) => void }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { out: (t) => (out += t), err: (t) => (err += t) }, out: () => out, err: () => err };
}

/** Run the CLI in a child process (wasm, one thread), as a user would. */
function cli(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', join(projectDir, 'src', 'cli.ts'), ...args], {
    cwd: projectDir,
    env: { ...process.env, CLIP_SENET_BACKEND: 'wasm', CLIP_SENET_WASM_THREADS: '1' },
    maxBuffer: 16 << 20,
  });
}

const worldOf = (c: ExperimentConfig): string => syntheticWorldDir(c.data.world);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'clip-senet-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('clip-senet --help', () => {
  it.each(['train', 'eval', 'extract', 'pretrain-sem'])('%s --help prints its usage and exits 0', async (name) => {
    const c = capture();
    expect(await main([name, '--help'], c.io)).toBe(0);
    expect(c.out()).toContain(`Usage: clip-senet ${name}`);
    expect(c.err()).toBe('');
  });

  it('train --help lists every backbone, fusion and loss the registries hold, with their descriptions', async () => {
    const c = capture();
    expect(await main(['train', '--help'], c.io)).toBe(0);
    for (const n of backbones.list()) expect(c.out()).toContain(`${n.padEnd(24)}${backbones.get(n).describe}`);
    for (const n of fusions.list()) expect(c.out()).toContain(`${n.padEnd(24)}${fusions.get(n).formula}`);
    for (const n of losses.list()) expect(c.out()).toContain(`${n.padEnd(24)}${losses.get(n).describe}`);
    expect(c.out()).toContain('resnext101-32x4d-ibn-a  ResNeXt 32×4d [3, 4, 23, 3], IBN-a');
  });

  it('npx clip-senet --help works from the repository root (a real bin entry)', async () => {
    const repo = join(projectDir, '..');
    const r = await run('npx', ['--no-install', 'clip-senet', '--help'], { cwd: repo, env: { ...process.env, CLIP_SENET_BACKEND: 'wasm' } });
    expect(r.stdout).toContain('Usage: clip-senet <command>');
    expect(r.stdout).toContain('ablation');
  });

  it('lists every command; an unknown command exits 2', async () => {
    const c = capture();
    expect(await main(['--help'], c.io)).toBe(0);
    for (const cmd of commands) expect(c.out()).toContain(cmd.name);
    expect(await main(['bogus'], c.io)).toBe(2);
    expect(c.err()).toContain("unknown command 'bogus'");
  });
});

describe('clip-senet train: config errors', () => {
  it('a bad --set key fails naming the key, before anything is written', async () => {
    const c = capture();
    const runDir = join(dir, 'bad');
    expect(await main(['train', '--config', tiny, '--set', 'train.maxStepz=3', '--run-dir', runDir], c.io)).toBe(1);
    expect(c.err()).toContain('train.maxStepz: unknown key');
    expect(existsSync(runDir)).toBe(false);
  });

  it('a missing --config is a usage error (exit 2)', async () => {
    const c = capture();
    expect(await main(['train'], c.io)).toBe(2);
    expect(c.err()).toContain('--config is required');
  });
});

describe('clip-senet train refuses folders holding outputs it would overwrite', () => {
  const trainInto = async (runDir: string, ...extra: string[]) => {
    const c = capture();
    const code = await main(['train', '--config', tiny, '--set', 'train.maxSteps=1', '--run-dir', runDir, '--no-progress', ...extra], c.io);
    return { code, err: c.err() };
  };

  it('a finished run (results.json, no checkpoints) is refused, with or without --resume, and left as it was', async () => {
    const runDir = join(dir, 'finished-no-ckpt');
    mkdirSync(runDir);
    writeFileSync(join(runDir, 'results.json'), '{"mAP": 0.5}\n');
    writeFileSync(join(runDir, 'log.jsonl'), '{"type":"step","step":1}\n');
    for (const extra of [[], ['--resume']]) {
      const r = await trainInto(runDir, ...extra);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`${runDir} holds a finished run (results.json)`);
    }
    expect(readFileSync(join(runDir, 'results.json'), 'utf8')).toBe('{"mAP": 0.5}\n');
    expect(readdirSync(runDir).sort()).toEqual(['log.jsonl', 'results.json']);
  });

  it('an empty config (or one naming no model) is refused instead of silently building the paper model', async () => {
    const empty = join(dir, 'empty.yaml');
    writeFileSync(empty, '\n');
    const runDir = join(dir, 'empty-run');
    const c = capture();
    expect(await main(['train', '--config', empty, '--run-dir', runDir], c.io)).toBe(1);
    expect(c.err()).toContain(`${empty}: no 'model' section (nor in the files it extends). The defaults are the paper's full CLIP-SENet`);
    expect(c.err()).toContain("write 'model: {}' to train exactly that");
    expect(existsSync(runDir)).toBe(false);
  });

  it('a second train into a run folder being trained is refused (one trainer per folder)', async () => {
    const runDir = join(dir, 'busy-run');
    const first = spawn(process.execPath, ['--import', 'tsx', join(projectDir, 'src', 'cli.ts'), 'train', '--config', tiny, '--set', 'train.maxSteps=100000', '--set', 'train.epochs=100000',
      '--run-dir', runDir, '--no-progress'], { cwd: projectDir, env: { ...process.env, CLIP_SENET_BACKEND: 'wasm', CLIP_SENET_WASM_THREADS: '1' }, stdio: 'ignore' });
    try {
      const t0 = Date.now();
      while (!existsSync(join(runDir, 'log.jsonl'))) {
        if (Date.now() - t0 > 120_000) throw new Error('the first trainer logged nothing in 120 s');
        await new Promise((r) => setTimeout(r, 100));
      }
      const second = await trainInto(runDir, '--resume');
      expect(second.code).toBe(2);
      expect(second.err).toContain(`${runDir} is being trained by runner ${first.pid}`);
    } finally {
      first.kill('SIGKILL');
    }
  });

  it("a user's unrelated log.jsonl is never appended to", async () => {
    const runDir = join(dir, 'foreign-log');
    mkdirSync(runDir);
    writeFileSync(join(runDir, 'log.jsonl'), '{"note":"my own experiment"}\n');
    const fresh = await trainInto(runDir);
    expect(fresh.code).toBe(2);
    expect(fresh.err).toContain(`${runDir} already holds a run (log.jsonl); pass --resume`);
    const resumed = await trainInto(runDir, '--resume');
    expect(resumed.code).toBe(2);
    expect(resumed.err).toContain('but no resolved-config.yaml (not a clip-senet run folder)');
    expect(readFileSync(join(runDir, 'log.jsonl'), 'utf8')).toBe('{"note":"my own experiment"}\n');
  });
});

describe('clip-senet train + eval on the tiny synthetic config', () => {
  it('train writes the resolved config, log, checkpoint and results; eval writes protocol-tagged results', async () => {
    const runDir = join(dir, 'run');
    const t = await cli('train', '--config', tiny, '--set', 'train.maxSteps=3', '--run-dir', runDir, '--no-progress');
    expect(t.stdout).toContain('finished at step 3');
    const resolved = parseConfigText(readFileSync(join(runDir, 'resolved-config.yaml'), 'utf8'));
    expect(resolved.train.maxSteps).toBe(3);
    expect(resolved.model.appearance.backbone.name).toBe('resnet-tiny');
    const steps = readFileSync(join(runDir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step?: number });
    expect(steps.filter((s) => s.step !== undefined).length).toBeGreaterThanOrEqual(3);
    expect(readdirSync(join(runDir, 'checkpoints')).some((f) => f.endsWith('.safetensors'))).toBe(true);
    const results = JSON.parse(readFileSync(join(runDir, 'results.json'), 'utf8')) as { protocolId: string; mAP: number };
    expect(results.protocolId).toBe('veri776/no-rr/cosine/non-interp');
    expect(results.mAP).toBeGreaterThan(0);

    await expect(cli('train', '--config', tiny, '--set', 'train.maxSteps=3', '--run-dir', runDir)).rejects.toThrow(/holds a finished run \(results\.json\)/);

    const out = join(dir, 'eval.json');
    const e = await cli('eval', '--run', runDir, '--out', out);
    expect(e.stdout).toContain('veri776/no-rr/cosine/non-interp');
    const evaluated = JSON.parse(readFileSync(out, 'utf8')) as { protocolId: string; mAP: number; backend: string; seed: number };
    expect(evaluated.protocolId).toBe('veri776/no-rr/cosine/non-interp');
    expect(evaluated.backend).toMatch(/^wasm(\+onednn)?$/); // +onednn where the native kernels are built
    expect(evaluated.seed).toBe(3407);
    expect(evaluated.mAP).toBeCloseTo(results.mAP, 6);

    const features = join(dir, 'features.safetensors');
    const x = await cli('extract', '--run', runDir, '--images', join(resolved.data.root ?? worldOf(resolved), 'image_query'), '--out', features);
    expect(x.stdout).toMatch(/4 images × 32/);
    expect(readSafetensors(features).tensors.get('features')!.shape).toEqual([4, 32]);
  });

  it('extract with a camera/view model: VeRi-style names give the camera, other names need --camera; views need --view', async () => {
    const runDir = join(dir, 'cv');
    await cli('train', '--config', tiny, '--set', 'train.maxSteps=1', '--set', 'model.fusion.cameraView={numCameras: 8, numViews: 5}', '--run-dir', runDir, '--no-progress');
    const resolved = parseConfigText(readFileSync(join(runDir, 'resolved-config.yaml'), 'utf8'));
    const query = join(resolved.data.root ?? worldOf(resolved), 'image_query');
    const plain = join(dir, 'plain-names');
    mkdirSync(plain);
    const names = readdirSync(query).filter((f) => f.endsWith('.jpg')).slice(0, 2);
    names.forEach((f, i) => copyFileSync(join(query, f), join(plain, `photo-${i}.jpg`)));
    const out = join(dir, 'cv.safetensors');
    await expect(cli('extract', '--run', runDir, '--images', query, '--out', out)).rejects.toThrow(/view embedding \(5 views\) but 4 of 4 images have no view id[\s\S]*--view/);
    await expect(cli('extract', '--run', runDir, '--images', plain, '--out', out, '--view', '1')).rejects.toThrow(/camera embedding \(8 cameras\) but 2 of 2 images have no camera id in \[0, 8\) — first: \S*photo-0\.jpg \(camera -1\)[\s\S]*--camera/);
    await expect(cli('extract', '--run', runDir, '--images', plain, '--out', out, '--view', '1', '--camera', 'x')).rejects.toThrow(/--camera must be a non-negative integer, got 'x'/);
    expect(existsSync(out)).toBe(false);
    expect((await cli('extract', '--run', runDir, '--images', plain, '--out', out, '--view', '1', '--camera', '3')).stdout).toMatch(/2 images × 32/);
    expect((await cli('extract', '--run', runDir, '--images', query, '--out', out, '--view', '0')).stdout).toMatch(/4 images × 32/);
    const camerasInNames = readdirSync(query).filter((f) => f.endsWith('.jpg')).sort().map((f) => Number(/_c(\d{3})_/.exec(f)![1]) - 1);
    expect(Array.from(readSafetensors(out).tensors.get('cams')!.data as Int32Array)).toEqual(camerasInNames);
  });

  it('train --stop-after 2 then --resume finishes at the same metrics as an uninterrupted run', async () => {
    const runDir = join(dir, 'resumed');
    const first = await cli('train', '--config', tiny, '--set', 'train.maxSteps=3', '--run-dir', runDir, '--stop-after', '2', '--no-progress');
    expect(first.stdout).toContain('stopped at step 2');
    expect(existsSync(join(runDir, 'results.json'))).toBe(false);
    await expect(cli('train', '--config', tiny, '--set', 'train.maxSteps=4', '--run-dir', runDir, '--resume')).rejects.toThrow(/same config/);
    const second = await cli('train', '--config', tiny, '--set', 'train.maxSteps=3', '--run-dir', runDir, '--resume', '--no-progress');
    expect(second.stdout).toContain('finished at step 3');
    const resumed = JSON.parse(readFileSync(join(runDir, 'results.json'), 'utf8')) as { mAP: number; rank1: number };
    const straight = JSON.parse(readFileSync(join(dir, 'run', 'results.json'), 'utf8')) as { mAP: number; rank1: number };
    expect(resumed.mAP).toBe(straight.mAP);
    expect(resumed.rank1).toBe(straight.rank1);
  });

  it('pretrain-sem writes the image tower and a zero-shot report', async () => {
    const out = join(dir, 'sem');
    const p = await cli('pretrain-sem', '--config', tiny, '--out', out, '--no-progress');
    expect(p.stdout).toContain('completed');
    for (const attr of ['colour', 'type', 'view']) {
      expect(p.stdout).toMatch(new RegExp(`zero-shot ${attr}: [\\d.]+ \\(chance [\\d.]+, majority [\\d.]+\\) \\| balanced [\\d.]+ \\([\\d.]+\\); image-only probe [\\d.]+`));
    }
    for (const f of ['sem-visual.safetensors', 'sem-text.safetensors', 'tokenizer.json', 'zero-shot.json', 'resolved-config.yaml']) {
      expect(existsSync(join(out, f))).toBe(true);
    }

    // a run loading the tower keys its checkpoints on the weights' digest: re-made weights (here the same tensors
    // rewritten with other metadata) make --resume refuse, although the resolved config text is unchanged
    const weights = join(out, 'sem-visual.safetensors');
    const runDir = join(dir, 'with-sem');
    const args = ['train', '--config', tiny, '--set', 'train.maxSteps=3', '--set', `model.sem.weights=${weights}`, '--run-dir', runDir, '--no-progress'];
    expect((await cli(...args, '--stop-after', '2')).stdout).toContain('stopped at step 2');
    const file = readSafetensors(weights);
    writeSafetensors(weights, file.tensors, { ...file.metadata, remade: 'yes' });
    await expect(cli(...args, '--resume')).rejects.toThrow(/config hash: checkpoint \S+ ≠ run \S+ \(the config, or a weights file it loads, changed\)/);

    // another config into the same folder: refused with the folder untouched (its resolved config still describes
    // the run in it), or with --replace-stale moved aside whole and started afresh
    const resolved = readFileSync(join(out, 'resolved-config.yaml'), 'utf8');
    const other = ['pretrain-sem', '--config', tiny, '--out', out, '--no-progress', '--set', 'pretrainSem.seed=99', '--steps', '1'];
    await expect(cli(...other)).rejects.toThrow(/does not match this run/);
    expect(readFileSync(join(out, 'resolved-config.yaml'), 'utf8')).toBe(resolved);
    const moved = await cli(...other, '--replace-stale');
    const stale = /held a run of another config: moved it to (\S+)/.exec(moved.stdout)?.[1];
    expect(stale).toMatch(/stale-[0-9a-f]+$/);
    expect(readFileSync(join(stale!, 'resolved-config.yaml'), 'utf8')).toBe(resolved);
    expect(existsSync(join(stale!, 'sem-visual.safetensors'))).toBe(true);
    expect(readFileSync(join(out, 'resolved-config.yaml'), 'utf8')).toContain('seed: 99');
  });
});
