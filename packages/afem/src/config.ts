/**
 * zod schemas + defaults for the fusion head: AFEM (Eq. 4), the camera/view embedding (CV) and one schema per
 * fusion variant (Eq. 5 and ablations); each variant's entry (./fusion-variants) carries its schema, and the
 * discriminated union `FusionConfigSchema` is made there from the entries. Unknown keys are errors. Every point the
 * paper leaves open is a knob here with its default documented (see ../../shared/PAPER.md).
 *
 * Feature sizes of the two branches (`appearanceDim`, `semanticDim`) are NOT config: they come from the
 * built backbones as numbers when the engine assembles the model.
 */
import { markValidated } from '@clip-senet/core/base';
import { z } from 'zod';

/** AFEM knobs shared by the stand-alone module and the fusions that embed it. */
const afemKnobs = {
  /** Number of channel groups G (paper: 32, Table V). `dOut % groups` must be 0. */
  groups: z.number().int().positive().default(32),
  /**
   * One learnable weight per group (`'scalar'`, shape [G]) or one per channel of each group (`'vector'`,
   * shape [G, dOut/G]). The paper is ambiguous; default `'scalar'`. Weights are initialised from N(0, 1).
   */
  weightMode: z.enum(['scalar', 'vector']).default('scalar'),
  /** `T_s' = h + weighted(h)` (paper, default true); false gives `T_s' = weighted(h)` (ablation). */
  residual: z.boolean().default(true),
  /** BatchNorm1d running-stat momentum (PyTorch default 0.1; the paper does not say). */
  bnMomentum: z.number().min(0).max(1).default(0.1),
  /** BatchNorm1d epsilon (PyTorch default 1e-5). */
  bnEps: z.number().positive().default(1e-5),
};

/** Stand-alone AFEM config (Eq. 4). */
export const AfemConfigSchema = z.strictObject({
  /** Output width of the AFEM linear layer (paper: 2048 = the appearance feature width). */
  dOut: z.number().int().positive().default(2048),
  ...afemKnobs,
});
export type AfemConfig = z.output<typeof AfemConfigSchema>;
export type AfemConfigInput = z.input<typeof AfemConfigSchema>;

/** The paper's AFEM: dOut 2048, G = 32, scalar group weights, residual sum, BN momentum 0.1 / eps 1e-5. */
export const defaultAfemConfig: AfemConfig = markValidated(AfemConfigSchema.parse({}));

/** AFEM knobs inside a fusion config (its `dOut` is the fusion's `outDim`). */
export const FusionAfemConfigSchema = z.strictObject(afemKnobs);

/**
 * Camera / viewpoint side information (CV, the starred VeRi-776 row of Table IV). The paper does not give
 * the mechanism; this is SIE-style (TransReID): learnable tables `camera` [numCameras, outDim] and `view`
 * [numViews, outDim], initialised N(0, initStd²), whose rows for each sample are summed, scaled by `scale`
 * and added to the fused feature. A table with 0 rows is not created.
 */
export const CameraViewConfigSchema = z
  .strictObject({
    /** Rows of the camera table (0 = no camera embedding). */
    numCameras: z.number().int().min(0).default(0),
    /** Rows of the viewpoint table (0 = no view embedding). */
    numViews: z.number().int().min(0).default(0),
    /** λ multiplying the embedding before it is added (TransReID's `sie_xishu`; default 1.0). */
    scale: z.number().default(1.0),
    /** Std of the N(0, std²) initialisation (TransReID: truncated normal, std 0.02; here untruncated). */
    initStd: z.number().positive().default(0.02),
  })
  .refine((c) => c.numCameras + c.numViews > 0, { message: 'cameraView needs numCameras > 0 or numViews > 0' });
export type CameraViewConfig = z.output<typeof CameraViewConfigSchema>;
export type CameraViewConfigInput = z.input<typeof CameraViewConfigSchema>;

/** Knobs every fusion has. */
const fusionCommon = {
  /** Width of the fused feature T (paper: 2048). */
  outDim: z.number().int().positive().default(2048),
  /** Optional camera/view embedding added to T (default: none). */
  cameraView: CameraViewConfigSchema.nullable().default(null),
};

/** The paper (Eq. 5): `T = FC([T_s; T_a]) + AFEM(T_s)`. */
export const ClipSenetFusionConfigSchema = z.strictObject({
  name: z.literal('clip-senet'),
  ...fusionCommon,
  afem: FusionAfemConfigSchema.prefault({}),
});

/** Table IV row 2 (+SEM, no AFEM): `T = FC([T_s; T_a])`. */
export const ConcatFcFusionConfigSchema = z.strictObject({ name: z.literal('concat-fc'), ...fusionCommon });

/** `T = P_a(T_a) + P_s(T_s)`; each P is the identity when the branch already has `outDim` channels, else a Linear. */
export const SumFusionConfigSchema = z.strictObject({ name: z.literal('sum'), ...fusionCommon });

/** `g = σ(FC([T_s; T_a]))`, `T = g ⊙ P_s(T_s) + (1 − g) ⊙ P_a(T_a)` (P as in `sum`). */
export const GatedFusionConfigSchema = z.strictObject({
  name: z.literal('gated'),
  ...fusionCommon,
  /** Initial bias of the gate logits (0 → g = ½ on average at start; > 0 favours the semantic branch). */
  gateBiasInit: z.number().default(0),
});

/** Baseline (Table IV row 1): `T = P_a(T_a)`; the semantic input is ignored. */
export const AppearanceOnlyFusionConfigSchema = z.strictObject({ name: z.literal('appearance-only'), ...fusionCommon });

/** `T = AFEM(T_s)` (default) or `T = P_s(T_s)` with `useAfem: false`; the appearance input is ignored. */
export const SemanticOnlyFusionConfigSchema = z.strictObject({
  name: z.literal('semantic-only'),
  ...fusionCommon,
  /** Pass T_s through AFEM (default true) or through a plain Linear projection / identity. */
  useAfem: z.boolean().default(true),
  afem: FusionAfemConfigSchema.prefault({}),
});
