/**
 * Fusion registry contract (every variant, with and without camera/view embedding): output [N, outDim],
 * finite, a gradient on every trainable variable, finite-difference gradients, no leaked tensors,
 * determinism; plus the formulas of the variants against independent computations.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaksSync, initBackend, Rng, tf } from '@clip-senet/core';
import { CameraViewEmbedding } from './camera-view';
import { defaultFusionConfig, FusionConfigSchema, type FusionConfigInput, type FusionName } from './fusion-variants';
import type { Fusion } from './fusion';
import { buildAfem, buildFusion, fusions } from './registry';
import { CameraViewConfigSchema } from './config';
import { boundVariant, FUSION_VARIANTS, fusionVariant } from './fusion-variants';
import { gradCheck, values } from '@clip-senet/core/testing';

beforeAll(async () => {
  await initBackend('wasm', { log: null });
});

const N = 4;
const DIMS = { appearanceDim: 12, semanticDim: 6 };
const tiny = (name: FusionName, extra: Record<string, unknown> = {}): FusionConfigInput => {
  const afem = name === 'clip-senet' || name === 'semantic-only' ? { afem: { groups: 4 } } : {};
  return { name, outDim: 8, ...afem, ...extra } as FusionConfigInput;
};
const CV = { cameraView: { numCameras: 3, numViews: 2, scale: 0.5, initStd: 0.5 } };

function inputs(seed: number): { ta: tf.Variable; ts: tf.Variable; cam: tf.Tensor1D; view: tf.Tensor1D } {
  return tf.tidy(() => ({
    ta: tf.variable(tf.randomNormal([N, DIMS.appearanceDim], 0, 1, 'float32', seed)),
    ts: tf.variable(tf.randomNormal([N, DIMS.semanticDim], 0, 1, 'float32', seed + 1)),
    cam: tf.tensor1d([0, 2, 1, 2], 'int32'),
    view: tf.tensor1d([1, 0, 0, 1], 'int32'),
  }));
}

function run(f: Fusion, x: ReturnType<typeof inputs>, training: boolean): tf.Tensor2D {
  return f.forward({ appearance: x.ta as unknown as tf.Tensor2D, semantic: x.ts as unknown as tf.Tensor2D, cameraIds: x.cam, viewIds: x.view }, { training });
}

describe('fusion registry', () => {
  it('lists exactly the variants of the config schema; default is the paper fusion', () => {
    expect(fusions.list()).toEqual(['appearance-only', 'clip-senet', 'concat-fc', 'gated', 'semantic-only', 'sum']);
    expect(defaultFusionConfig).toEqual({
      name: 'clip-senet', outDim: 2048, cameraView: null,
      afem: { groups: 32, weightMode: 'scalar', residual: true, bnMomentum: 0.1, bnEps: 1e-5 },
    });
    expect(() => buildFusion({ name: 'concat' } as unknown as FusionConfigInput, DIMS, new Rng(0))).toThrow(/Unknown fusion 'concat'.*clip-senet/);
    expect(() => FusionConfigSchema.parse({ name: 'sum', afem: {} })).toThrow(/afem/);
    expect(() => FusionConfigSchema.parse({ name: 'sum', cameraView: {} })).toThrow(/numCameras > 0 or numViews > 0/);
  });

  it('each entry is its variant: the schema option of its name, the formula, and the tensor prefixes of its parts', () => {
    expect(FUSION_VARIANTS.map((v) => v.schema)).toEqual(FusionConfigSchema.options);
    for (const v of FUSION_VARIANTS) {
      expect(fusions.get(v.name)).toBe(v);
      expect(v.formula).toMatch(/^(g = .*; )?T = /);
      const f = buildFusion(tiny(v.name), DIMS, new Rng(5));
      const prefixes = new Set([...f.params.keys()].map((k) => k.split('.')[0]));
      const expected = boundVariant(f.config).parts(DIMS).filter((p) => !(p.kind === 'projection' && p.inDim === 8)).map((p) => p.prefix);
      expect([...prefixes]).toEqual(expected);
      f.dispose();
    }
    expect(() => fusionVariant('concat')).toThrow("unknown fusion 'concat' (known: clip-senet, concat-fc, sum, gated, appearance-only, semantic-only)");
  });

  it('a variant that ignores T_s is built and run without one (a model without a SEM); one that reads it needs it', () => {
    expectNoLeaksSync(() => {
      const x = inputs(3);
      const withTs = buildFusion(tiny('appearance-only'), DIMS, new Rng(5));
      const without = buildFusion(tiny('appearance-only'), { appearanceDim: DIMS.appearanceDim, semanticDim: 0 }, new Rng(5));
      const a = withTs.forward({ appearance: x.ta as unknown as tf.Tensor2D, semantic: x.ts as unknown as tf.Tensor2D });
      const b = without.forward({ appearance: x.ta as unknown as tf.Tensor2D });
      expect(values(b)).toEqual(values(a));
      const clip = buildFusion(tiny('clip-senet'), DIMS, new Rng(5));
      expect(() => clip.forward({ appearance: x.ta as unknown as tf.Tensor2D })).toThrow("Fusion 'clip-senet': reads T_s [N, 6], but no semantic feature was given");
      expect(() => buildFusion(tiny('clip-senet'), { appearanceDim: 12, semanticDim: 0 }, new Rng(5))).toThrow("Fusion semanticDim must be a positive integer (fusion 'clip-senet' reads T_s), got 0");
      tf.dispose([a, b, x.ta, x.ts, x.cam, x.view]);
      for (const f of [withTs, without, clip]) f.dispose();
    });
  });

  for (const name of fusions.list() as FusionName[]) {
    for (const withCv of [false, true]) {
      const cfg = tiny(name, withCv ? CV : {});
      it(`${name}${withCv ? ' + CV' : ''}: shape, finite, gradient to every variable, finite differences, no leaks`, () => {
        expectNoLeaksSync(() => {
          const f = buildFusion(cfg, DIMS, new Rng(5));
          const x = inputs(10);
          const proj = tf.randomNormal([N, 8], 0, 1, 'float32', 3);
          for (const training of [true, false]) {
            const y = run(f, x, training);
            expect(y.shape).toEqual([N, 8]);
            expect(values(y).every(Number.isFinite)).toBe(true);
            y.dispose();
          }
          const loss = (): tf.Scalar => tf.tidy(() => tf.sum(tf.mul(run(f, x, true), proj)));
          const { value, grads } = tf.variableGrads(loss, f.trainableVariables());
          for (const [pname, v] of f.params) {
            const g = grads[v.name];
            expect(g && values(g).some((e) => e !== 0) && values(g).every(Number.isFinite), `gradient of ${pname}`).toBe(true);
          }
          tf.dispose([value, ...Object.values(grads)]);
          const vars = new Map([...f.params, ['input.appearance', x.ta], ['input.semantic', x.ts]] as Array<[string, tf.Variable]>);
          // ε = 2e-3: train-mode BN over 4 samples is strongly curved, so ε = 1e-2 has an O(ε²) error of a few %.
          for (const r of gradCheck(loss, vars, new Rng(9), 2e-3)) {
            expect(r.relError, `${r.name}: ${r.analytic} vs ${r.numeric}`).toBeLessThan(2e-2);
          }
          tf.dispose([x.ta, x.ts, x.cam, x.view, proj]);
          f.dispose();
        }, `${name}${withCv ? ' + CV' : ''}: build, forward, gradients, finite differences`);
      });
    }
  }

  it('same seed → identical parameters for every variant', () => {
    for (const name of fusions.list() as FusionName[]) {
      const a = buildFusion(tiny(name, CV), DIMS, new Rng(77));
      const b = buildFusion(tiny(name, CV), DIMS, new Rng(77));
      expect([...a.params.keys()]).toEqual([...b.params.keys()]);
      for (const k of a.params.keys()) expect(values(a.t(k)), `${name} ${k}`).toEqual(values(b.t(k)));
      a.dispose();
      b.dispose();
    }
  });
});

describe('paper size', () => {
  it('clip-senet at 2048 + 512 → 2048, G = 32: parameter count and one forward in each mode', () => {
    expectNoLeaksSync(() => {
      const f = buildFusion(defaultFusionConfig, { appearanceDim: 2048, semanticDim: 512 }, new Rng(3407));
      // FC 2560→2048 (+bias) + AFEM Linear 512→2048 (+bias) + BN affine 2·2048 + 32 group weights
      expect(f.numParams()).toBe(2560 * 2048 + 2048 + 512 * 2048 + 2048 + 2 * 2048 + 32);
      const ta = tf.randomNormal([4, 2048], 0, 1, 'float32', 1) as tf.Tensor2D;
      const ts = tf.randomNormal([4, 512], 0, 1, 'float32', 2) as tf.Tensor2D;
      for (const training of [true, false]) {
        const y = f.forward({ appearance: ta, semantic: ts }, { training });
        expect(y.shape).toEqual([4, 2048]);
        expect(values(y).every(Number.isFinite)).toBe(true);
        y.dispose();
      }
      tf.dispose([ta, ts]);
      f.dispose();
    }, 'clip-senet at paper size: build and forward');
  });
});

describe('fusion formulas', () => {
  const x = (): ReturnType<typeof inputs> => inputs(20);

  it('parameter names per variant (projections only where widths differ)', () => {
    const names = (cfg: FusionConfigInput, dims = DIMS): string[] => {
      const f = buildFusion(cfg, dims, new Rng(0));
      const k = [...f.params.keys(), ...f.buffers.keys()];
      f.dispose();
      return k;
    };
    expect(names(tiny('clip-senet'))).toEqual(['fc.weight', 'fc.bias', 'afem.fc.weight', 'afem.fc.bias', 'afem.bn.weight', 'afem.bn.bias', 'afem.group_weight', 'afem.bn.running_mean', 'afem.bn.running_var']);
    expect(names(tiny('concat-fc', CV))).toEqual(['fc.weight', 'fc.bias', 'camera_view.camera', 'camera_view.view']);
    expect(names(tiny('sum'))).toEqual(['proj_a.weight', 'proj_a.bias', 'proj_s.weight', 'proj_s.bias']);
    expect(names({ name: 'sum', outDim: 12 }, DIMS)).toEqual(['proj_s.weight', 'proj_s.bias']);
    expect(names({ name: 'appearance-only', outDim: 12 }, DIMS)).toEqual([]);
    expect(names({ name: 'semantic-only', outDim: 6, useAfem: false }, DIMS)).toEqual([]);
    expect(names(tiny('gated'))).toEqual(['proj_a.weight', 'proj_a.bias', 'proj_s.weight', 'proj_s.bias', 'gate.weight', 'gate.bias']);
  });

  it('clip-senet = FC([T_s; T_a]) + AFEM(T_s), with T_s in the first dS rows of FC', () => {
    const f = buildFusion(tiny('clip-senet'), DIMS, new Rng(1));
    const afem = buildAfem({ dOut: 8, groups: 4 }, 6, new Rng(2));
    for (const [k, v] of afem.params) v.assign(f.t(`afem.${k}`));
    const xs = x();
    const got = run(f, xs, false);
    const want = tf.tidy(() => {
      const w = f.t('fc.weight');
      const ws = tf.slice(w, [0, 0], [6, 8]); // T_s rows
      const wa = tf.slice(w, [6, 0], [12, 8]); // T_a rows
      const fc = tf.add(tf.add(tf.matMul(xs.ts, ws), tf.matMul(xs.ta, wa)), f.t('fc.bias'));
      return tf.add(fc, afem.forward(xs.ts as unknown as tf.Tensor2D, { training: false }));
    });
    values(got).forEach((g, i) => expect(g).toBeCloseTo(values(want)[i]!, 4));
    tf.dispose([got, want, xs.ta, xs.ts, xs.cam, xs.view]);
    f.dispose();
    afem.dispose();
  });

  it('appearance-only is the identity when widths match; semantic-only with AFEM equals AFEM', () => {
    const xs = x();
    const a = buildFusion({ name: 'appearance-only', outDim: 12 }, DIMS, new Rng(0));
    const ya = run(a, xs, true);
    expect(values(ya)).toEqual(values(xs.ta));
    const s = buildFusion(tiny('semantic-only'), DIMS, new Rng(3));
    const afem = buildAfem({ dOut: 8, groups: 4 }, 6, new Rng(3));
    const ys = run(s, xs, true);
    const ye = afem.forward(xs.ts as unknown as tf.Tensor2D, { training: true });
    expect(values(ys)).toEqual(values(ye));
    tf.dispose([ya, ys, ye, xs.ta, xs.ts, xs.cam, xs.view]);
    [a, s, afem].forEach((m) => m.dispose());
  });

  it('gated: T = g ⊙ T_s + (1 − g) ⊙ T_a with g = σ(FC([T_s; T_a])) (plain-JS check, equal widths)', () => {
    const dims = { appearanceDim: 3, semanticDim: 3 };
    const f = buildFusion({ name: 'gated', outDim: 3, gateBiasInit: 0.5 }, dims, new Rng(4));
    expect(values(f.t('gate.bias'))).toEqual([0.5, 0.5, 0.5]);
    const TA = [[1, -2, 0.5], [0.3, 0.1, -1]];
    const TS = [[-0.5, 1, 2], [1.5, -0.2, 0.7]];
    const W = values(f.t('gate.weight'));
    const want = TA.flatMap((ta, r) => {
      const cat = [...TS[r]!, ...ta];
      return [0, 1, 2].map((j) => {
        const z = cat.reduce((s, v, i) => s + v * W[i * 3 + j]!, 0.5);
        const g = 1 / (1 + Math.exp(-z));
        return g * TS[r]![j]! + (1 - g) * ta[j]!;
      });
    });
    const ta = tf.tensor2d(TA);
    const ts = tf.tensor2d(TS);
    const y = f.forward({ appearance: ta, semantic: ts });
    values(y).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    tf.dispose([ta, ts, y]);
    f.dispose();
  });

  it('fusion.eval() propagates to the embedded AFEM (running stats untouched in eval)', () => {
    const f = buildFusion(tiny('clip-senet'), DIMS, new Rng(1));
    const xs = x();
    f.eval();
    tf.dispose(f.forward({ appearance: xs.ta as unknown as tf.Tensor2D, semantic: xs.ts as unknown as tf.Tensor2D }));
    expect(values(f.t('afem.bn.running_mean')).every((v) => v === 0)).toBe(true);
    f.train();
    tf.dispose(f.forward({ appearance: xs.ta as unknown as tf.Tensor2D, semantic: xs.ts as unknown as tf.Tensor2D }));
    expect(values(f.t('afem.bn.running_mean')).some((v) => v !== 0)).toBe(true);
    tf.dispose([xs.ta, xs.ts, xs.cam, xs.view]);
    f.dispose();
  });

  it('rejects wrong input widths and mismatched batches', () => {
    const f = buildFusion(tiny('sum'), DIMS, new Rng(0));
    const a = tf.zeros([2, 12]) as tf.Tensor2D;
    const s = tf.zeros([3, 6]) as tf.Tensor2D;
    expect(() => f.forward({ appearance: a, semantic: a })).toThrow(/expected T_s \[N, 6\]/);
    expect(() => f.forward({ appearance: a, semantic: s })).toThrow(/batch sizes differ/);
    tf.dispose([a, s]);
    f.dispose();
  });
});

describe('camera/view embedding (SIE-style CV)', () => {
  it('adds λ·(E_cam[c] + E_view[v]) row by row', () => {
    const e = new CameraViewEmbedding({ dim: 2, ...CameraViewConfigSchema.parse({ numCameras: 3, numViews: 2, scale: 0.5 }) }, new Rng(8));
    const cam = values(e.t('camera'));
    const view = values(e.t('view'));
    const feats = tf.tensor2d([[1, 2], [3, 4]]);
    const y = e.forward({ features: feats, cameraIds: tf.tensor1d([2, 0], 'int32'), viewIds: tf.tensor1d([1, 1], 'int32') });
    const want = [
      1 + 0.5 * (cam[4]! + view[2]!), 2 + 0.5 * (cam[5]! + view[3]!),
      3 + 0.5 * (cam[0]! + view[2]!), 4 + 0.5 * (cam[1]! + view[3]!),
    ];
    values(y).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    expect(() => e.forward({ features: feats, viewIds: tf.tensor1d([0, 1], 'int32') })).toThrow(/no cameraIds/);
    expect(() => e.forward({ features: feats, cameraIds: tf.tensor1d([3, 0], 'int32'), viewIds: tf.tensor1d([0, 1], 'int32') })).toThrow(/camera id 3 is outside \[0, 3\)/);
    tf.dispose([feats, y]);
    e.dispose();
  });

  it('camera-only table: no view parameter, view ids not needed', () => {
    const e = new CameraViewEmbedding({ dim: 4, ...CameraViewConfigSchema.parse({ numCameras: 2 }) }, new Rng(0));
    expect([...e.params.keys()]).toEqual(['camera']);
    const feats = tf.zeros([1, 4]) as tf.Tensor2D;
    const ids = tf.tensor1d([1], 'int32');
    const y = e.forward({ features: feats, cameraIds: ids });
    expect(values(y)).toEqual(values(e.t('camera')).slice(4));
    tf.dispose([feats, ids, y]);
    e.dispose();
  });
});
