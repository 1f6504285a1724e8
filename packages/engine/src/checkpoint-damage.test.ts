/**
 * Damaged checkpoints are named, never loaded: a corrupt latest.json, flipped or truncated bytes (sha256 in the
 * metadata), pre-checksum checkpoints (accepted with a warning), resume falling back to the newest checkpoint that
 * verifies (with a printed line), stale temporary files of a killed save, and save errors that name the file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, readSafetensors, tf, writeSafetensors } from '@clip-senet/core';
import { tempDirs } from '@clip-senet/core/testing';
import { CheckpointDamagedError, latestCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint';
import { resumeState } from './checkpoint-hook';
import { Adam } from './optimizer';
import { disposeTinyTensors, tinyCheckpointTensors, type TinyTensors } from './testing';

const dirs = tempDirs('engine-ckpt-damage-');

beforeAll(async () => {
  await initBackend('wasm', { log: null, threads: 1 });
});
afterAll(() => dirs.removeAll());

type Model = TinyTensors;
const model = tinyCheckpointTensors;

const weightsOf = (m: Model): number[] => [...m.params.values(), ...m.buffers.values()].flatMap((v) => Array.from(v.dataSync()));
const disposeModel = disposeTinyTensors;
const ckptPath = (dir: string, step: number): string => join(dir, `ckpt-step-${String(step).padStart(8, '0')}.safetensors`);

/** Train `steps` Adam steps on a fixed gradient, saving after each; returns the weights saved at each step. */
async function trainAndSave(dir: string, steps: number, keepLast = 2): Promise<Map<number, number[]>> {
  const m = model(1);
  const opt = new Adam(m.params);
  const saved = new Map<number, number[]>();
  for (let step = 1; step <= steps; step++) {
    const g = new Map([...m.params].map(([k, v]) => [k, tf.onesLike(v)]));
    opt.step(g, 0.1);
    tf.dispose([...g.values()]);
    await saveCheckpoint(dir, { params: m.params, buffers: m.buffers, optimizer: opt, state: { step, epoch: 0 } }, { keepLast, log: null });
    saved.set(step, weightsOf(m));
  }
  disposeModel(m);
  opt.dispose();
  return saved;
}

/** Fresh targets (a different init) to resume into. */
function withTargets<T>(f: (m: Model, opt: Adam) => T): T {
  const m = model(2);
  const opt = new Adam(m.params);
  try {
    return f(m, opt);
  } finally {
    disposeModel(m);
    opt.dispose();
  }
}

/** Overwrite element `index` of `tensor` in a checkpoint file with `value` (the bytes of a flipped disk block). */
function overwrite(path: string, tensor: string, index: number, value: number): void {
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
  bytes.writeFloatLE(value, 8 + n + header[tensor]!.data_offsets[0] + 4 * index);
  writeFileSync(path, bytes);
}

function caught(f: () => unknown): Error {
  try {
    f();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('damaged checkpoints', () => {
  it('a corrupt latest.json is named; resume uses the newest checkpoint that verifies and says so', async () => {
    const dir = dirs.make();
    const saved = await trainAndSave(dir, 3);
    const pointer = join(dir, 'latest.json');
    writeFileSync(pointer, '{"file": "ckpt-step-000');
    expect(() => latestCheckpoint(dir)).toThrow(new RegExp(`^Checkpoint ${pointer} is damaged: not valid JSON \\(`));
    const err = caught(() => loadCheckpoint(dir));
    expect(err).toBeInstanceOf(CheckpointDamagedError);
    expect(err.message).toContain(`checkpoint ${ckptPath(dir, 3)} (step 3) verifies: load it by its path`);

    const lines: string[] = [];
    withTargets((m, opt) => {
      const state = resumeState(dir, { params: m.params, buffers: m.buffers, optimizer: opt }, { log: (l) => lines.push(l) });
      expect(state?.step).toBe(3);
      expect(weightsOf(m)).toEqual(saved.get(3));
    });
    expect(lines[0]).toMatch(new RegExp(`^resume: Checkpoint ${pointer} is damaged: not valid JSON`));
    expect(lines[0]).toContain(`→ resuming from ${ckptPath(dir, 3)} (step 3) instead, the newest checkpoint that verifies`);
    expect(lines[1]).toBe(`resume: kept the damaged ${pointer} as ${pointer}.damaged`);
    expect(lines).toHaveLength(2);
    expect(readFileSync(`${pointer}.damaged`, 'utf8')).toBe('{"file": "ckpt-step-000');
    expect(latestCheckpoint(dir)).toBe(ckptPath(dir, 3));
    lines.length = 0;
    withTargets((m, opt) => resumeState(dir, { params: m.params, buffers: m.buffers, optimizer: opt }, { log: (l) => lines.push(l) }));
    expect(lines).toEqual([]);
  });

  it('a missing latest.json beside checkpoint files is damage, not a fresh start: resume uses the newest that verifies', async () => {
    const dir = dirs.make();
    const saved = await trainAndSave(dir, 3);
    const pointer = join(dir, 'latest.json');
    rmSync(pointer);
    const lines: string[] = [];
    withTargets((m, opt) => {
      const state = resumeState(dir, { params: m.params, buffers: m.buffers, optimizer: opt }, { log: (l) => lines.push(l) });
      expect(state?.step).toBe(3);
      expect(weightsOf(m)).toEqual(saved.get(3));
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`Checkpoint ${pointer} is damaged: missing, although 2 checkpoint file(s) are in ${dir}`);
    expect(lines[0]).toContain(`→ resuming from ${ckptPath(dir, 3)} (step 3) instead`);
    expect(latestCheckpoint(dir)).toBe(ckptPath(dir, 3));
    expect(existsSync(ckptPath(dir, 2))).toBe(true);
    // an empty folder is still a fresh run
    withTargets((m, opt) => expect(resumeState(dirs.make(), { params: m.params, buffers: m.buffers, optimizer: opt })).toBeUndefined());
  });

  it('flipped bytes inside the latest checkpoint are damage, not weights: named on load, resume falls back to the previous one', async () => {
    const dir = dirs.make();
    const saved = await trainAndSave(dir, 3);
    overwrite(ckptPath(dir, 3), 'param/fc.weight', 1, NaN);
    expect(() => loadCheckpoint(ckptPath(dir, 3))).toThrow(
      new RegExp(
        `^Checkpoint ${ckptPath(dir, 3)} is damaged: its content has sha256 [0-9a-f]{16}…, the checkpoint records [0-9a-f]{16}… ` +
          `\\(bytes changed after it was written\\); tensors holding NaN/Inf now: param/fc\\.weight$`,
      ),
    );
    expect(() => loadCheckpoint(dir)).toThrow(`checkpoint ${ckptPath(dir, 2)} (step 2) verifies`);
    const listing = readdirSync(dir).sort();

    withTargets((m, opt) => {
      const before = weightsOf(m);
      const err = caught(() => resumeState(dir, { params: m.params, buffers: m.buffers, optimizer: opt }, { fallback: false, log: null }));
      expect(err.message).toContain(`Checkpoint ${ckptPath(dir, 3)} is damaged: its content has sha256`);
      expect(err.message).toContain(`checkpoint ${ckptPath(dir, 2)} (step 2) verifies: resume with fallback (the default) to use it`);
      expect(weightsOf(m)).toEqual(before);
    });
    expect(readdirSync(dir).sort()).toEqual(listing);

    const lines: string[] = [];
    withTargets((m, opt) => {
      const state = resumeState(dir, { params: m.params, buffers: m.buffers, optimizer: opt }, { log: (l) => lines.push(l) });
      expect(state?.step).toBe(2);
      expect(opt.meta().step).toBe(2);
      expect(weightsOf(m)).toEqual(saved.get(2));
    });
    expect(lines.join('\n')).toMatch(new RegExp(`resume: Checkpoint ${ckptPath(dir, 3)} is damaged[^\\n]*\\n  → resuming from ${ckptPath(dir, 2)} \\(step 2\\) instead`));
    expect(lines[1]).toBe(`resume: kept the damaged ${ckptPath(dir, 3)} as ${ckptPath(dir, 3)}.damaged`);
    expect(readdirSync(dir).sort()).toEqual(['ckpt-step-00000002.safetensors', 'ckpt-step-00000003.safetensors.damaged', 'latest.json']);
    expect(JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8'))).toMatchObject({ file: 'ckpt-step-00000002.safetensors', step: 2 });
    // the damaged file is kept as evidence: never pruned by later saves
    await trainAndSave(dir, 4);
    expect(readdirSync(dir).sort()).toEqual(['ckpt-step-00000003.safetensors', 'ckpt-step-00000003.safetensors.damaged', 'ckpt-step-00000004.safetensors', 'latest.json']);
  });

  it('when no checkpoint verifies (truncated, a flipped finite value) resume fails naming each, changing nothing', async () => {
    const dir = dirs.make();
    await trainAndSave(dir, 2);
    truncateSync(ckptPath(dir, 2), 200);
    const bytes = readFileSync(ckptPath(dir, 1));
    overwrite(ckptPath(dir, 1), 'optim/fc.bias/exp_avg', 0, 0.123); // still finite: only the checksum can tell
    expect(readFileSync(ckptPath(dir, 1)).equals(bytes)).toBe(false);
    const listing = readdirSync(dir).sort();
    withTargets((m, opt) => {
      const err = caught(() => resumeState(dir, { params: m.params, buffers: m.buffers, optimizer: opt }, { log: null }));
      expect(err).toBeInstanceOf(CheckpointDamagedError);
      expect(err.message).toMatch(
        new RegExp(
          `^Cannot resume from ${dir}: no checkpoint verifies\\n  Checkpoint ${ckptPath(dir, 2)} is damaged: not a valid safetensors file: ` +
            `[^\\n]*\\n  Checkpoint ${ckptPath(dir, 1)} is damaged: its content has sha256 [^;\\n]*written\\)\\n`,
        ),
      );
    });
    expect(readdirSync(dir).sort()).toEqual(listing);
  });

  it('a checkpoint written before checksums loads unverified with a warning line; a pointer checksum the file lacks is damage', async () => {
    const dir = dirs.make();
    const saved = await trainAndSave(dir, 1);
    const path = ckptPath(dir, 1);
    const old = readSafetensors(path);
    const { format, state } = old.metadata;
    writeSafetensors(path, old.tensors, { format: format!, state: state! });
    const { sha256, ...pointer } = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'latest.json'), JSON.stringify(pointer));
    const lines: string[] = [];
    expect(loadCheckpoint(dir, { log: (l) => lines.push(l) }).sha256).toBeUndefined();
    expect(lines).toEqual([`${path}: no sha256 (written before checkpoints carried a checksum); loaded unverified`]);
    withTargets((m, opt) => {
      expect(resumeState(dir, { params: m.params, buffers: m.buffers, optimizer: opt }, { log: null })?.step).toBe(1);
      expect(weightsOf(m)).toEqual(saved.get(1));
    });
    writeFileSync(join(dir, 'latest.json'), JSON.stringify({ ...pointer, sha256 }));
    expect(() => loadCheckpoint(dir, { log: null })).toThrow(`Checkpoint ${path} is damaged: latest.json records sha256 ${(sha256 as string).slice(0, 16)}… but the file carries no checksum`);
  });
});

describe('checkpoint writes', () => {
  it("a save removes the temporary files of a killed save and keeps a live writer's", async () => {
    const dir = dirs.make();
    await trainAndSave(dir, 1);
    const child = spawnSync(process.execPath, ['-e', '']); // a process that is gone
    const stale = join(dir, `.ckpt-step-00000005.safetensors.tmp-${child.pid}-0-1`);
    const live = join(dir, `.ckpt-step-00000006.safetensors.tmp-${process.ppid}-0-1`);
    writeFileSync(stale, 'half a checkpoint');
    writeFileSync(live, 'being written');
    const m = model(3);
    const lines: string[] = [];
    await saveCheckpoint(dir, { params: m.params, state: { step: 2, epoch: 0 } }, { log: (l) => lines.push(l) });
    disposeModel(m);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(lines).toEqual([`removed ${stale}: a temporary file of an interrupted write (its process ${child.pid} is gone)`]);
  });

  it('a failed save names the file it was writing, keeps the error code and leaves latest.json on the last good checkpoint', async () => {
    const dir = dirs.make();
    await trainAndSave(dir, 1);
    mkdirSync(ckptPath(dir, 2)); // the file's place is taken: the rename fails (ENOSPC fails the same way, earlier)
    const m = model(3);
    const err = (await saveCheckpoint(dir, { params: m.params, state: { step: 2, epoch: 0 } }, { log: null }).then(() => undefined, (e: unknown) => e)) as NodeJS.ErrnoException;
    disposeModel(m);
    expect(err.message).toMatch(new RegExp(`^Cannot write ${ckptPath(dir, 2)}: EISDIR`));
    expect(err.code).toBe('EISDIR');
    expect(latestCheckpoint(dir)).toBe(ckptPath(dir, 1));
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
