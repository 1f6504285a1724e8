/**
 * SEM pretraining (issue 6): a small CLIP — CLIP ViT image tower + CLIP text tower — trained with the symmetric
 * InfoNCE loss on the synthetic world's pretraining captions (`pretrain/captions.jsonl`, identities disjoint from
 * the re-ID splits). The image tower is saved in the OpenAI CLIP layout, so the SEM loads it exactly like real
 * TinyCLIP weights (`sem.weights`); the text tower and tokenizer are saved too, and zero-shot attribute accuracy
 * on held-out identities is reported (zero-shot.ts) with the identity bookkeeping that shows no identity is
 * learned: held-out identities are never trained on and no re-ID identity of the world is pretrained on. Uses the
 * same loop, hooks, checkpoints and resume as re-ID training.
 *
 * Output folder: `sem-visual.safetensors`, `sem-text.safetensors`, `tokenizer.json`, `zero-shot.json`,
 * `log.jsonl`, `checkpoints/`.
 */
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { configIdentity, Rng, sha256Hex, validated, writeJsonAtomic } from '@clip-senet/core';
import type { tf, Scalar, Tensor2D, Tensor4D } from '@clip-senet/core';
import { BackboneConfigSchema, buildBackbone, buildTextEncoder, saveWeights, WordTokenizer, type ClipVisionTransformer } from '@clip-senet/backbones';
import { createBatchLoader, parseVeRi776Name, type CaptionRecord } from '@clip-senet/datasets';
import { ClipInfoNce } from '@clip-senet/losses';
import { latestCheckpoint, loadCheckpoint } from './checkpoint';
import { resumeState } from './checkpoint-hook';
import { jsonlLog } from './hooks';
import { runHooks } from './run-hooks';
import { BranchInputConfigSchema } from './model-config';
import { OptimizerConfigSchema, buildOptimizer } from './optimizer-config';
import { ScheduleConfigSchema, buildSchedule } from './schedule';
import { captionSample, shuffledSource } from './data-source';
import { train, type TrainResult } from './train';
import { embedImages, probeAccuracy, zeroShotAccuracy, type ZeroShotAttribute, type ZeroShotReport } from './zero-shot';

/** Pretraining settings. */
export const PretrainSemConfigSchema = z.strictObject({
  seed: z.number().int().default(3407),
  /** The image tower (a CLIP ViT preset or custom `clip-vit`). */
  image: BackboneConfigSchema.prefault({ name: 'clip-vit-tiny' }),
  input: BranchInputConfigSchema.prefault({ size: [32, 32], normalization: 'clip' }),
  /** Text tower (vocabulary from the captions; output width = the image tower's). */
  text: z
    .strictObject({
      contextLength: z.number().int().min(4).default(24),
      width: z.number().int().positive().default(64),
      layers: z.number().int().positive().default(2),
      heads: z.number().int().positive().default(2),
      activation: z.enum(['gelu', 'quick-gelu']).default('gelu'),
    })
    .prefault({}),
  epochs: z.number().int().positive().default(20),
  batchSize: z.number().int().min(2).default(32),
  optimizer: OptimizerConfigSchema.prefault({ name: 'adamw', lr: 1e-3, weightDecay: 0.1 }),
  schedule: ScheduleConfigSchema.prefault({ name: 'cosine', warmup: 1 }),
  /** Learnable CLIP temperature. */
  learnableScale: z.boolean().default(true),
  /** Initial temperature τ (logit scale 1/τ; CLIP: 0.07). */
  temperature: z.number().gt(0).lt(1).default(0.07),
  flipProb: z.number().min(0).max(1).default(0.5),
  /** Fraction of pretraining identities held out for zero-shot evaluation. */
  holdoutFraction: z.number().gt(0).lt(1).default(0.2),
  /** Decode threads (null = cores − 1; 0 = in the training thread). */
  workers: z.number().int().min(0).nullable().default(null),
});
export type PretrainSemConfig = z.output<typeof PretrainSemConfigSchema>;
export type PretrainSemConfigInput = z.input<typeof PretrainSemConfigSchema>;

/** Read `pretrain/captions.jsonl` of a synthetic world (image paths made absolute). */
export function readCaptions(worldRoot: string): CaptionRecord[] {
  const file = join(worldRoot, 'pretrain', 'captions.jsonl');
  const dir = dirname(file);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const r = JSON.parse(l) as CaptionRecord;
      return { ...r, image: join(dir, r.image) };
    });
}

/** Split records by identity: a seeded `fraction` of identities is held out. */
export function splitByIdentity(records: readonly CaptionRecord[], fraction: number, rng: Rng): { train: CaptionRecord[]; heldOut: CaptionRecord[] } {
  const ids = [...new Set(records.map((r) => r.vehicleId))].sort((a, b) => a - b);
  const n = Math.max(1, Math.round(ids.length * fraction));
  if (n >= ids.length) throw new Error(`splitByIdentity: holding out ${n} of ${ids.length} identities leaves none to train on`);
  const held = new Set(rng.shuffle([...ids]).slice(0, n));
  return { train: records.filter((r) => !held.has(r.vehicleId)), heldOut: records.filter((r) => held.has(r.vehicleId)) };
}

/**
 * Vehicle ids of the world's re-ID lists (`name_train.txt`, `name_query.txt`, `name_test.txt`, whichever exist;
 * VeRi-776 names start with the id): pretraining must not see them (the SEM learns no re-ID identity).
 */
export function reidIdentities(worldRoot: string): Set<number> {
  const ids = new Set<number>();
  for (const list of ['name_train.txt', 'name_query.txt', 'name_test.txt']) {
    const file = join(worldRoot, list);
    if (!existsSync(file)) continue;
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      const name = parseVeRi776Name(line.trim());
      if (!name) throw new Error(`${file}:${i + 1}: "${line.trim()}" is not a VeRi-776 image name (<vid 4 digits>_c<cam 3 digits>_<frame>_<n>.jpg)`);
      ids.add(name.vehicleId);
    });
  }
  return ids;
}

/** Identity bookkeeping of a pretraining run (written into `zero-shot.json`): the structural "no identities" check. */
export interface IdentityReport {
  readonly trainIdentities: number;
  readonly heldOutIdentities: number;
  /** Identities both trained on and held out (0 by construction of {@link splitByIdentity}). */
  readonly trainHeldOutOverlap: number;
  /** Pretraining identities (trained or held out) that are also re-ID identities of the world (0 for generated worlds). */
  readonly reidOverlap: number;
}

/** Count the identities of a split and its overlaps. */
export function identityReport(train: readonly CaptionRecord[], heldOut: readonly CaptionRecord[], reid: ReadonlySet<number>): IdentityReport {
  const t = new Set(train.map((r) => r.vehicleId));
  const h = new Set(heldOut.map((r) => r.vehicleId));
  return {
    trainIdentities: t.size,
    heldOutIdentities: h.size,
    trainHeldOutOverlap: [...h].filter((id) => t.has(id)).length,
    reidOverlap: [...new Set([...t, ...h])].filter((id) => reid.has(id)).length,
  };
}

/** An image–caption batch: images and their captions' tokens. */
interface PairBatch {
  readonly images: Tensor4D;
  readonly tokens: Tensor2D;
}

/**
 * The identities {@link pretrainSem} trains on and holds out for zero-shot evaluation: `cfg.holdoutFraction` of the
 * world's captioned identities, drawn from the config seed's `holdout` stream. Diagnostics that must score the same
 * held-out images (e.g. experiments' supervised SEM probe, `runSupervisedProbe`) call this.
 */
export function pretrainSplit(worldRoot: string, cfg: PretrainSemConfig): { train: CaptionRecord[]; heldOut: CaptionRecord[] } {
  return splitByIdentity(readCaptions(worldRoot), cfg.holdoutFraction, new Rng(cfg.seed).derive('holdout'));
}

/** Options of {@link pretrainSem}. */
export interface PretrainSemOptions {
  readonly worldRoot: string;
  readonly outDir: string;
  readonly config: PretrainSemConfigInput;
  readonly progress?: boolean;
  /** Stop (with a checkpoint) after this many steps (tests, time-boxed runs). */
  readonly stopAfterSteps?: number;
  /**
   * When `outDir` holds a run of another config: false (default) refuses to touch it; true moves that run's
   * checkpoints and outputs into `outDir/stale-<its config hash>/` (nothing is deleted) and starts afresh.
   */
  readonly replaceStale?: boolean;
  /**
   * Called once the folder is known to be this config's run (fresh, resuming, or after a stale run was moved
   * aside), before training: the place to write files describing the run (the CLI's resolved-config.yaml).
   */
  readonly onReady?: () => void;
}

/** What pretraining produced. */
export interface PretrainSemResult {
  readonly result: TrainResult;
  /** Path of the image tower in OpenAI CLIP layout (set when the run finished). */
  readonly visualWeights?: string;
  readonly zeroShot?: ZeroShotReport;
  /** Nearest-class-mean accuracy of the image tower alone on the held-out images ({@link probeAccuracy}). */
  readonly probe?: Readonly<Record<ZeroShotAttribute, number>>;
  readonly identities?: IdentityReport;
  /** Where a stale run of another config was moved ({@link PretrainSemOptions.replaceStale}). */
  readonly movedAside?: string;
}

/** A pretraining run folder's outputs besides `checkpoints/` (with the CLI's `resolved-config.yaml`). */
const RUN_OUTPUTS = ['sem-visual.safetensors', 'sem-text.safetensors', 'tokenizer.json', 'zero-shot.json', 'log.jsonl', 'resolved-config.yaml'] as const;

/**
 * When `outDir`'s latest checkpoint belongs to a config other than `configHash`, move its `checkpoints/` and
 * outputs into `outDir/stale-<that hash>[-n]/` and return that folder; otherwise (no run, or the same config, which
 * resumes) return undefined.
 */
export function moveAsideStaleRun(outDir: string, configHash: string): string | undefined {
  const latest = latestCheckpoint(join(outDir, 'checkpoints'));
  if (latest === undefined) return undefined;
  const old = loadCheckpoint(latest).state.configHash ?? 'none';
  if (old === configHash) return undefined;
  let dest = join(outDir, `stale-${old}`);
  for (let k = 2; existsSync(dest); k++) dest = join(outDir, `stale-${old}-${k}`);
  mkdirSync(dest);
  for (const name of ['checkpoints', ...RUN_OUTPUTS]) if (existsSync(join(outDir, name))) renameSync(join(outDir, name), join(dest, name));
  return dest;
}

/** Pretrain (or resume) the SEM; when finished, save the towers and the zero-shot report. */
export async function pretrainSem(opts: PretrainSemOptions): Promise<PretrainSemResult> {
  const cfg = validated(PretrainSemConfigSchema, opts.config);
  const rng = new Rng(cfg.seed);
  const { train: trainSet, heldOut } = pretrainSplit(opts.worldRoot, cfg);
  const tokenizer = WordTokenizer.fromCaptions(trainSet.map((r) => r.caption), { contextLength: cfg.text.contextLength });
  const vit = buildBackbone(cfg.image, { rng: rng.derive('image') });
  if (vit.family !== 'clip-vit') throw new Error(`pretrainSem: image tower '${cfg.image.name}' is not a CLIP ViT`);
  const visual = vit as ClipVisionTransformer;
  const text = buildTextEncoder({ name: 'clip-text', vocabSize: tokenizer.vocabSize, outputDim: visual.featureDim, ...cfg.text }, { rng: rng.derive('text') });
  const loss = new ClipInfoNce({ learnableScale: cfg.learnableScale, initLogitScale: Math.log(1 / cfg.temperature), name: 'clip-infonce' });
  const params = new Map<string, tf.Variable>();
  for (const [prefix, m] of [['visual', visual.params], ['text', text.params], ['loss', loss.params]] as const) for (const [k, v] of m) params.set(`${prefix}.${k}`, v);
  const optimizer = buildOptimizer(cfg.optimizer, params);
  // Core's one config identity: the resolved config's YAML plus the digest of the vocabulary the captions gave.
  const configHash = configIdentity(cfg, { vocabulary: sha256Hex(JSON.stringify(tokenizer.toJSON().vocab)) }).key;
  const ckptDir = join(opts.outDir, 'checkpoints');
  const branch = { size: cfg.input.size, normalization: cfg.input.normalization };
  const loader = createBatchLoader({ branches: [{ ...branch, flipProb: cfg.flipProb }], seed: rng.derive('augment').uint32(), ...(cfg.workers !== null ? { workers: cfg.workers } : {}) });
  const evalLoader = createBatchLoader({ branches: [branch], seed: 0, workers: 0 });
  try {
    const movedAside = opts.replaceStale ? moveAsideStaleRun(opts.outDir, configHash) : undefined;
    const resumed = resumeState(ckptDir, { params, optimizer, configHash });
    opts.onReady?.();
    const start = (resumed?.data as { epoch: number; index: number } | undefined) ?? { epoch: 0, index: 0 };
    const data = shuffledSource<CaptionRecord, PairBatch>(trainSet, loader, {
      what: 'pretrain', batchSize: cfg.batchSize, rng: rng.derive('order'), start, sample: captionSample,
      batch: (picked, images) => ({ images, tokens: tokenizer.encodeBatch(picked.map((r) => r.caption)) }),
    });
    const stepsPerEpoch = Math.floor(trainSet.length / cfg.batchSize);
    const totalSteps = cfg.epochs * stepsPerEpoch;
    const hooks = runHooks({
      log: jsonlLog(join(opts.outDir, 'log.jsonl')), progress: opts.progress ?? true ? { label: 'pretrain-sem' } : false,
      checkpoint: { dir: ckptDir, params, optimizer, configHash },
    });
    const result = await train({
      optimizer, data, hooks, epochs: cfg.epochs, stepsPerEpoch, steps: Math.min(totalSteps, opts.stopAfterSteps ?? Infinity),
      schedule: buildSchedule(cfg.schedule, { lr: cfg.optimizer.lr, totalSteps, stepsPerEpoch }),
      lossFn: (b) => {
        const img = visual.forward(b.images, { training: true }).features;
        const txt = text.forward(b.tokens).features;
        const term = loss.compute(img, txt).value as Scalar;
        return { total: term, terms: { 'clip-infonce': term } };
      },
      ...(resumed ? { start: { step: resumed.step, epoch: resumed.epoch } } : {}),
    });
    const moved = movedAside !== undefined ? { movedAside } : {};
    if (result.reason !== 'completed' || result.epoch < cfg.epochs) return { result, ...moved };
    const visualWeights = join(opts.outDir, 'sem-visual.safetensors');
    saveWeights(visual, visualWeights, { metadata: { 'clip-senet.sem-pretrain': configHash } });
    saveWeights(text, join(opts.outDir, 'sem-text.safetensors'));
    writeJsonAtomic(join(opts.outDir, 'tokenizer.json'), tokenizer.toJSON());
    const embed = async (records: readonly CaptionRecord[]): Promise<Float32Array[]> => {
      const rows: Float32Array[] = [];
      for (let i = 0; i < records.length; i += 64) {
        const samples = records.slice(i, i + 64).map(captionSample);
        const b = await evalLoader.load({ epoch: 0, index: i, samples });
        rows.push(...embedImages(visual, b.images));
        b.images.dispose();
      }
      return rows;
    };
    const embeddings = await embed(heldOut);
    const zeroShot = zeroShotAccuracy(embeddings, heldOut, trainSet, { text, tokenizer });
    const probe = probeAccuracy(await embed(trainSet), trainSet, embeddings, heldOut);
    const identities = identityReport(trainSet, heldOut, reidIdentities(opts.worldRoot));
    writeJsonAtomic(join(opts.outDir, 'zero-shot.json'), { ...zeroShot, probe, identities, configHash });
    return { result, visualWeights, zeroShot, probe, identities, ...moved };
  } finally {
    await loader.close();
    await evalLoader.close();
    optimizer.dispose();
    loss.dispose();
    visual.dispose();
    text.dispose();
  }
}
