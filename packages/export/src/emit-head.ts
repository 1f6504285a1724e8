/**
 * ONNX emitters of the fusion head (CLIP-SENet Eq. 4–5 and the ablation variants: each variant's computation is
 * afem's own `FUSION_VARIANTS` entry, run here on graph values), the SIE-style camera / view embedding and the
 * BNNeck, over the fusion's tensor names: `fc.*` over [T_s; T_a],
 * `afem.*` (Linear → BN → ReLU → grouped weighting, residual), `proj_a.*` / `proj_s.*` when a branch is projected,
 * `gate.*`, `camera_view.{camera,view}`. Eval mode.
 */
import type { BatchNorm1d } from '@clip-senet/core';
import { boundVariant, FUSION_VARIANTS, type Fusion, type FusionOps } from '@clip-senet/afem';
import type { OnnxGraph } from './onnx-graph';
import type { PartWeights } from './weights';
import { batchNorm, linear } from './emit-backbones';

/** Graph values the fusion reads. */
export interface FusionValues {
  /** T_a [N, dA] (absent when the variant does not read it). */
  readonly appearance?: string;
  /** T_s [N, dS] (absent when the variant does not read it). */
  readonly semantic?: string;
  /** int64 [N] camera ids (when the model has a camera table). */
  readonly cameraIds?: string;
  /** int64 [N] view ids (when the model has a view table). */
  readonly viewIds?: string;
}

/** Which branch features a fusion variant reads (its registry entry says). */
export function fusionReads(fusion: Fusion): { appearance: boolean; semantic: boolean } {
  const known = FUSION_VARIANTS.find((v) => v.name === fusion.name);
  if (!known) throw new Error(`ONNX export: no ONNX mapping for fusion '${String(fusion.name)}'`);
  return { ...known.reads };
}

/** AFEM (Eq. 4): h = ReLU(BN(FC(T_s))); T_s' = h + h_g ⊙ w_g (residual per config). */
function afem(g: OnnxGraph, w: PartWeights, fusion: Fusion, ts: string): string {
  const c = (fusion.config as { afem?: { groups: number; residual: boolean; bnEps: number } }).afem;
  if (!c) throw new Error(`ONNX export: fusion '${fusion.name}' has AFEM tensors but no afem config`);
  const d = fusion.outDim;
  const groups = c.groups;
  const h = g.op('Relu', [batchNorm(g, w, 'afem.bn', linear(g, w, 'afem.fc', ts), c.bnEps)]);
  const hg = g.op('Reshape', [h, g.constInt64('groups_shape', [-1, groups, d / groups])]); // [N, dOut] → [N, G, dOut/G]
  const gw = w.tensor('afem.group_weight');
  const wShape = gw.rank === 1 ? [1, groups, 1] : [1, groups, d / groups]; // scalar [G] → [1, G, 1]; vector [G, dOut/G] → [1, G, dOut/G]
  const wb = g.op('Reshape', [w.init('afem.group_weight'), g.constInt64('gw_shape', wShape)]);
  const weighted = g.op('Reshape', [g.op('Mul', [hg, wb]), g.constInt64('flat_shape', [-1, d])]); // [N, G, dOut/G] → [N, dOut]
  return c.residual ? g.op('Add', [h, weighted]) : weighted;
}

/**
 * T [N, outDim] of the fusion variant — its own computation (afem's `FUSION_VARIANTS` entry) run on graph values —
 * with the camera / view embedding added last when configured.
 */
export function emitFusion(g: OnnxGraph, w: PartWeights, fusion: Fusion, v: FusionValues): string {
  const need = (x: string | undefined, what: string): string => {
    if (x === undefined) throw new Error(`ONNX export: fusion '${fusion.name}' needs ${what}`);
    return x;
  };
  fusionReads(fusion);
  let one: string | undefined;
  const ops: FusionOps<string> = {
    appearance: () => need(v.appearance, 'T_a'),
    semantic: () => need(v.semantic, 'T_s'),
    concatSemanticAppearance: () => g.op('Concat', [need(v.semantic, 'T_s'), need(v.appearance, 'T_a')], { axis: 1 }), // [N, dS] ⊕ [N, dA] → [N, dS + dA]
    linear: (part, x) => linear(g, w, part, x),
    projectAppearance: () => (w.has('proj_a.weight') ? linear(g, w, 'proj_a', need(v.appearance, 'T_a')) : need(v.appearance, 'T_a')),
    projectSemantic: () => (w.has('proj_s.weight') ? linear(g, w, 'proj_s', need(v.semantic, 'T_s')) : need(v.semantic, 'T_s')),
    afem: (x) => afem(g, w, fusion, x),
    add: (a, b) => g.op('Add', [a, b]),
    mul: (a, b) => g.op('Mul', [a, b]),
    oneMinus: (x) => g.op('Sub', [(one ??= g.constFloat('one', [1], [])), x]),
    sigmoid: (x) => g.op('Sigmoid', [x]),
    output: (x) => x,
  };
  const t = boundVariant(fusion.config).fuse(ops);
  const cv = fusion.config.cameraView;
  if (!cv) return t;
  let side: string | undefined;
  for (const [table, ids, rows] of [['camera', v.cameraIds, cv.numCameras], ['view', v.viewIds, cv.numViews]] as const) {
    if (rows === 0) continue;
    const e = g.op('Gather', [w.init(`camera_view.${table}`), need(ids, `${table} ids`)], { axis: 0 }); // [rows, D][ids] → [N, D]
    side = side ? g.op('Add', [side, e]) : e;
  }
  return side ? g.op('Add', [t, g.op('Mul', [side, g.constFloat('cv_scale', [cv.scale], [])])]) : t;
}

/** The BNNeck in eval mode. */
export function emitBnNeck(g: OnnxGraph, w: PartWeights, bn: BatchNorm1d, t: string): string {
  return batchNorm(g, w, '', t, bn.eps);
}
