/**
 * zod config of a training run (PAPER.md "Training": Adam, P×K = 16×8, seed 3407, VeRi-776 24 epochs cosine
 * lr 5e-4; augmentation, warm-up, weight decay are knobs). The experiments project composes it with
 * `ModelConfigSchema` and the losses' `LossesConfigSchema`.
 */
import { markValidated } from '@clip-senet/core/base';
import { z } from 'zod';
import { OptimizerConfigSchema } from './optimizer-config';
import { ScheduleConfigSchema } from './schedule';

/** Training-run settings. */
export const TrainConfigSchema = z.strictObject({
  seed: z.number().int().default(3407),
  epochs: z.number().int().positive().default(24),
  /** Cap on optimiser steps (null = epochs decide). */
  maxSteps: z.number().int().positive().nullable().default(null),
  sampler: z.strictObject({ P: z.number().int().positive().default(16), K: z.number().int().positive().default(8) }).prefault({}),
  optimizer: OptimizerConfigSchema.prefault({ name: 'adam' }),
  schedule: ScheduleConfigSchema.prefault({ name: 'cosine' }),
  /** Training augmentation (re-ID standard; the paper only says "various"). */
  augment: z
    .strictObject({
      flipProb: z.number().min(0).max(1).default(0.5),
      pad: z.number().int().min(0).default(10),
      randomErasing: z.boolean().default(true),
    })
    .prefault({}),
  loader: z
    .strictObject({
      /** Decode threads (null = cores − 1, at least 1; 0 = in the training thread). */
      workers: z.number().int().min(0).nullable().default(null),
      prefetch: z.number().int().positive().default(2),
    })
    .prefault({}),
  dataParallel: z
    .strictObject({
      /** Worker threads computing gradients on shards of each batch (0 = off, train in this process). */
      workers: z.number().int().min(0).default(0),
      /** This process also computes one shard (DDP rank 0) instead of only averaging. */
      local: z.boolean().default(false),
    })
    .prefault({}),
  checkpoint: z
    .strictObject({
      everyEpochs: z.number().int().min(0).default(1),
      everySteps: z.number().int().min(0).default(0),
      keepLast: z.number().int().positive().default(2),
    })
    .prefault({}),
  eval: z
    .strictObject({
      /** Evaluate during training every N epochs (0 = only at the end). */
      everyEpochs: z.number().int().min(0).default(0),
      /** Flip test-time augmentation. */
      flip: z.boolean().default(false),
      batchSize: z.number().int().positive().default(64),
      /** Ranked top-10 lists of the first N valid queries in the final results (for the report figure; 0 = none). */
      rankedLists: z.number().int().min(0).default(0),
    })
    .prefault({}),
  guards: z
    .strictObject({
      nonFinite: z.boolean().default(true),
      /** Allowed growth of live tensors across steps (null = leak guard off). */
      leakTolerance: z.number().int().min(0).nullable().default(0),
    })
    .prefault({}),
});
export type TrainConfig = z.output<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

/** The paper's VeRi-776 recipe (unknowns at their documented defaults). */
export const defaultTrainConfig: TrainConfig = markValidated(TrainConfigSchema.parse({}));
