/**
 * ONNX emitters of the fusion head (CLIP-SENet Eq. 4–5 and the ablation variants, afem's `Fusion`), the SIE-style
 * camera / view embedding and the BNNeck, walking the fusion's config and tensor names: `fc.*` over [T_s; T_a],
 * `afem.*` (Linear → BN → ReLU → grouped weighting, residual), `proj_a.*` / `proj_s.*` when a branch is projected,
 * `gate.*`, `camera_view.{camera,view}`. Eval mode.
 */
import type { Fusion } from '@clip-senet/afem';
import type { BatchNorm1d } from '@clip-senet/afem';
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

/** Which branch features a fusion variant reads. */
export function fusionReads(fusion: Fusion): { appearance: boolean; semantic: boolean } {
  switch (fusion.name) {
    case 'clip-senet':
    case 'concat-fc':
    case 'sum':
    case 'gated':
      return { appearance: true, semantic: true };
    case 'appearance-only':
      return { appearance: true, semantic: false };
    case 'semantic-only':
      return { appearance: false, semantic: true };
    default:
      throw new Error(`ONNX export: no ONNX mapping for fusion '${String((fusion as { name: unknown }).name)}'`);
  }
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

/** T [N, outDim] of the fusion variant, with the camera / view embedding added last when configured. */
export function emitFusion(g: OnnxGraph, w: PartWeights, fusion: Fusion, v: FusionValues): string {
  const need = (x: string | undefined, what: string): string => {
    if (x === undefined) throw new Error(`ONNX export: fusion '${fusion.name}' needs ${what}`);
    return x;
  };
  const cat = (): string => g.op('Concat', [need(v.semantic, 'T_s'), need(v.appearance, 'T_a')], { axis: 1 }); // [N, dS] ⊕ [N, dA] → [N, dS + dA]
  const pa = (): string => (w.has('proj_a.weight') ? linear(g, w, 'proj_a', need(v.appearance, 'T_a')) : need(v.appearance, 'T_a'));
  const ps = (): string => (w.has('proj_s.weight') ? linear(g, w, 'proj_s', need(v.semantic, 'T_s')) : need(v.semantic, 'T_s'));
  fusionReads(fusion);
  let t: string;
  switch (fusion.name) {
    case 'clip-senet':
      t = g.op('Add', [linear(g, w, 'fc', cat()), afem(g, w, fusion, need(v.semantic, 'T_s'))]);
      break;
    case 'concat-fc':
      t = linear(g, w, 'fc', cat());
      break;
    case 'sum':
      t = g.op('Add', [pa(), ps()]);
      break;
    case 'gated': {
      const gate = g.op('Sigmoid', [linear(g, w, 'gate', cat())]);
      const one = g.constFloat('one', [1], []);
      t = g.op('Add', [g.op('Mul', [gate, ps()]), g.op('Mul', [g.op('Sub', [one, gate]), pa()])]);
      break;
    }
    case 'appearance-only':
      t = pa();
      break;
    case 'semantic-only':
      t = w.has('afem.fc.weight') ? afem(g, w, fusion, need(v.semantic, 'T_s')) : ps();
      break;
  }
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
