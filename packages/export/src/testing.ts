/**
 * Test fixtures of the export package: tiny CLIP-SENet configs derived from the registries (so a new registry entry
 * is exported by the contract test without editing it), norms with non-trivial statistics (fresh BatchNorm running
 * stats are 0 / 1, which would hide a swapped mean and variance), and NCHW ↔ NHWC image batches.
 */
import { Rng, tf } from '@clip-senet/core';
import { backbones, type BackboneConfigInput, type BackboneEntry } from '@clip-senet/backbones';
import { buildModel, type ClipSenetModel, type ModelConfigInput } from '@clip-senet/engine';

/** A registered CNN shrunk to one block per stage, keeping its block type, groups, IBN and SE. */
export function tinyCnnOf(entry: Extract<BackboneEntry, { family: 'cnn' }>): BackboneConfigInput {
  const a = entry.arch;
  return { name: 'resnet', block: a.block, layers: [1, 1, 1, 1], baseWidth: 16, groups: a.groups, widthPerGroup: a.widthPerGroup, ibn: a.ibn, se: a.se, seReduction: Math.min(a.seReduction, 8) };
}

/** A registered CLIP ViT shrunk (1 block, width 32), its patch scaled down 4× and its activation kept. */
export function tinyVitOf(entry: Extract<BackboneEntry, { family: 'clip-vit' }>): BackboneConfigInput & { patchSize: number } {
  const ps = Math.max(2, entry.arch.patchSize / 4);
  return { name: 'clip-vit', width: 32, layers: 1, heads: 2, patchSize: ps, imageSize: 4 * ps, outputDim: 16, activation: entry.arch.activation };
}

/** Every registered backbone entry of a family, by name. */
export function entriesOf<F extends BackboneEntry['family']>(family: F): Array<[string, Extract<BackboneEntry, { family: F }>]> {
  return backbones.list().flatMap((name) => {
    const e = backbones.get(name);
    return e.family === family ? [[name, e as Extract<BackboneEntry, { family: F }>]] : [];
  });
}

/** The tiny model every variant starts from: resnet-tiny (32²) + clip-vit-tiny at a 24×40 grid (resized positions) + clip-senet. */
export function tinyModelConfig(extra: Partial<ModelConfigInput> = {}): ModelConfigInput {
  return {
    appearance: { backbone: { name: 'resnet-tiny' }, input: { size: [32, 32], normalization: 'imagenet' } },
    sem: { backbone: { name: 'clip-vit-tiny' }, input: { size: [24, 40], normalization: 'clip' } },
    fusion: { name: 'clip-senet', outDim: 16, afem: { groups: 4 } },
    ...extra,
  };
}

/** Give every norm / bias vector and running statistic of `model` a non-trivial value (drawn from `seed`). */
export function perturbVectors(model: ClipSenetModel, seed: number): void {
  const rng = new Rng(seed);
  const all = new Map([...model.params, ...model.buffers]);
  tf.tidy(() => {
    for (const [name, v] of all) {
      if (v.rank !== 1) continue;
      const n = v.size;
      const noise = Float32Array.from({ length: n }, () => rng.normal(0, 0.2));
      if (name.endsWith('running_var')) v.assign(tf.tensor1d(Float32Array.from(noise, (x) => 0.5 + Math.abs(x) * 4)));
      else if (!name.endsWith('gem.p')) v.assign(tf.add(v, tf.tensor1d(noise)));
    }
  });
}

/** `n` images [N, 3, H, W] of N(0, 1) values from `seed`. */
export function randomNchw(n: number, size: readonly [number, number], seed: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n * 3 * size[0] * size[1] }, () => r.normal());
}

/** An NCHW batch as the NHWC tensor the tfjs model takes. */
export function nchwToNhwc(data: Float32Array, n: number, size: readonly [number, number]): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(data, [n, 3, size[0], size[1]]), [0, 2, 3, 1])); // [N, 3, H, W] → [N, H, W, 3]
}

/** max |got − want| / max |want| (a relative error that does not flatter small features). */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`relErr: ${got.length} values vs ${want.length}`);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  }
  return scale === 0 ? worst : worst / scale;
}

/**
 * The model of the PyTorch fixture (fixtures/torch): an IBN-a bottleneck ResNet with SE, a QuickGELU CLIP ViT, the
 * clip-senet fusion with AFEM and a camera embedding, BNNeck — small enough that its weights stay well under 1 MB.
 */
export const TORCH_FIXTURE_CONFIG: ModelConfigInput = {
  appearance: { backbone: { name: 'resnet', block: 'bottleneck', layers: [1, 1, 1, 1], baseWidth: 4, ibn: true, se: true, seReduction: 4 }, input: { size: [32, 32], normalization: 'imagenet' } },
  sem: { backbone: { name: 'clip-vit', width: 32, layers: 1, heads: 2, patchSize: 8, imageSize: 32, outputDim: 16, activation: 'quick-gelu' }, input: { size: [32, 32], normalization: 'clip' } },
  fusion: { name: 'clip-senet', outDim: 16, afem: { groups: 4 }, cameraView: { numCameras: 3, initStd: 0.5 } },
};

/** Build the fixture model (seeded; norms perturbed; 4 classes). */
export function torchFixtureModel(): ClipSenetModel {
  const model = buildModel(TORCH_FIXTURE_CONFIG, { numClasses: 4, rng: new Rng(21) });
  perturbVectors(model, 5);
  return model;
}
