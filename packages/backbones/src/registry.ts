/**
 * The backbone registry: one entry per preset of ./presets (data over `ResNet` or `ClipVisionTransformer`), each
 * carrying its config schema, how a validated config resolves to a concrete architecture, and a one-line
 * description for `--help` texts; plus `buildBackbone(config)`, which turns a config into a model. Custom
 * architectures (`name: resnet` / `clip-vit`) are the two schemas without a preset.
 */
import { createRegistry, NORMALIZATION_STATS, Rng, validated, type NormalizationStats } from '@clip-senet/core';
import type { z } from 'zod';
import { ClipVisionTransformer, clipVitSpecs, type ClipVitArch } from './clip-vit';
import { ClipTextTransformer } from './clip-text';
import { BackboneConfigSchema, ClipTextConfigSchema, ClipVitPresetConfigSchema, CnnPresetConfigSchema, type BackboneConfigInput } from './config';
import type { ParamSpec } from './module';
import { CNN_PRESET_TABLE, VIT_PRESET_TABLE, type CnnPreset, type VitPreset } from './presets';
import { ResNet, resnetSpecs, type ResNetArch } from './resnet';

/** Per-channel RGB input normalisation the pretrained weights expect (`(x/255 − mean) / std`): core's one statistics type. */
export type Normalization = NormalizationStats;
/** torchvision / IBN-Net ImageNet statistics (core's dataset facts). */
export const IMAGENET_NORMALIZATION: Normalization = NORMALIZATION_STATS.imagenet;
/** OpenAI CLIP statistics (also TinyCLIP; core's dataset facts). */
export const CLIP_NORMALIZATION: Normalization = NORMALIZATION_STATS.clip;

/** A config resolved to one concrete architecture. */
export type ResolvedBackbone = { readonly family: 'cnn'; readonly arch: ResNetArch } | { readonly family: 'clip-vit'; readonly arch: ClipVitArch };

type CnnPresetConfig = z.output<typeof CnnPresetConfigSchema>;
type VitPresetConfig = z.output<typeof ClipVitPresetConfigSchema>;

/**
 * A registry entry: the preset (architecture, weights format and source, normalisation), the schema its configs
 * are validated with, `resolve` (a validated config's knobs over the preset's architecture) and `describe`.
 */
export type BackboneEntry =
  | (CnnPreset & { readonly schema: typeof CnnPresetConfigSchema; readonly describe: string; resolve(config: CnnPresetConfig): ResolvedBackbone })
  | (VitPreset & { readonly schema: typeof ClipVitPresetConfigSchema; readonly describe: string; resolve(config: VitPresetConfig): ResolvedBackbone });

/** Any image backbone. */
export type Backbone = ResNet | ClipVisionTransformer;

/** The registry of image backbones, filled from ./presets. */
export const backbones = createRegistry<BackboneEntry>('backbone');

const describeCnn = (p: CnnPreset): string => {
  const a = p.arch;
  const kind = a.groups > 1 ? `ResNeXt ${a.groups}×${a.widthPerGroup}d` : a.block === 'basic' ? 'ResNet (basic blocks)' : 'ResNet (bottlenecks)';
  return `${kind} [${a.layers.join(', ')}]${a.ibn ? ', IBN-a' : ''}${a.se ? ', SE' : ''}; weights ${p.weights}: ${p.source}`;
};
const describeVit = (p: VitPreset): string => {
  const a = p.arch;
  return `CLIP ViT width ${a.width}, ${a.layers} layers, patch ${a.patchSize}, ${a.imageSize}² → ${a.outputDim}; weights ${p.weights}: ${p.source}`;
};
for (const [name, p] of Object.entries(CNN_PRESET_TABLE) as [string, CnnPreset][]) {
  const entry: Extract<BackboneEntry, { family: 'cnn' }> = {
    ...p, schema: CnnPresetConfigSchema, describe: describeCnn(p),
    resolve: (c) => ({ family: 'cnn', arch: { ...p.arch, lastStride: c.lastStride, pooling: c.pooling, gemP: c.gemP } }),
  };
  backbones.register(name, entry);
}
for (const [name, p] of Object.entries(VIT_PRESET_TABLE) as [string, VitPreset][]) {
  const entry: Extract<BackboneEntry, { family: 'clip-vit' }> = {
    ...p, schema: ClipVitPresetConfigSchema, describe: describeVit(p),
    resolve: (c) => ({ family: 'clip-vit', arch: { ...p.arch, activation: c.activation ?? p.arch.activation, posInterpAntialias: c.posInterpAntialias } }),
  };
  backbones.register(name, entry);
}

/** Options of {@link buildBackbone}. */
export interface BuildOptions {
  /** Seeded generator for the initial weights (default `new Rng(0)`). */
  readonly rng?: Rng;
}

/** Resolve `config` to an architecture (validated here unless it already is: zod, unknown keys are errors). */
export function resolveBackbone(config: BackboneConfigInput): ResolvedBackbone {
  const c = validated(BackboneConfigSchema, config);
  if (c.name === 'resnet') {
    const { name: _n, ...arch } = c;
    return { family: 'cnn', arch };
  }
  if (c.name === 'clip-vit') {
    const { name: _n, ...arch } = c;
    return { family: 'clip-vit', arch };
  }
  const entry = backbones.get(c.name);
  // the schema's discriminant put c in the entry's own family (a CNN preset name only parses as a CNN preset config)
  return entry.family === 'cnn' ? entry.resolve(c as CnnPresetConfig) : entry.resolve(c as VitPresetConfig);
}

/** Tensor declarations of a backbone without allocating it (e.g. for parameter counts). */
export function backboneSpecs(config: BackboneConfigInput): ParamSpec[] {
  const r = resolveBackbone(config);
  return r.family === 'cnn' ? resnetSpecs(r.arch) : clipVitSpecs(r.arch);
}

/** Build the backbone `config` names (validated unless it already is; weights drawn from `opts.rng`). */
export function buildBackbone(config: BackboneConfigInput, opts: BuildOptions = {}): Backbone {
  const r = resolveBackbone(config);
  const rng = opts.rng ?? new Rng(0);
  return r.family === 'cnn' ? new ResNet(r.arch, rng) : new ClipVisionTransformer(r.arch, rng);
}

/** Build a text tower from its config (validated here unless it already is). */
export function buildTextEncoder(config: z.input<typeof ClipTextConfigSchema>, opts: BuildOptions = {}): ClipTextTransformer {
  const { name: _n, ...arch } = validated(ClipTextConfigSchema, config);
  return new ClipTextTransformer(arch, opts.rng ?? new Rng(0));
}
