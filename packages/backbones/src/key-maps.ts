/**
 * Key maps between this package's canonical tensor names and the state-dict layouts of the
 * checkpoints people actually have:
 *
 * | format | model | file key of canonical `k` |
 * |---|---|---|
 * | `torchvision`, `ibn-net` | CNN | `k` (official IBN-Net checkpoints use torchvision names plus `bn1.IN.*` / `bn1.BN.*`, `se.fc.{0,2}.*`) |
 * | `openai`, `open_clip` | ViT | `visual.k` (bare `k` for a standalone `model.visual` state dict) |
 * | `openai`, `open_clip` | text | `k` |
 * | `tinyclip` | ViT | `_image_encoder.visual.k` |
 * | `tinyclip` | text | `_text_encoder.k` |
 * | `hf-clip` | ViT | `vision_model.*` / `visual_projection.weight` (q/k/v split, see {@link hfKeys}) |
 *
 * A leading `module.` (DataParallel) is stripped from file keys. Keys outside the model's namespace
 * (e.g. the text tower in a full CLIP file, the ImageNet `fc` head, `num_batches_tracked`) are
 * reported as ignored, never silently consumed.
 */
import type { ParamLayout, ParamSpec } from './module';

/** Checkpoint layouts understood by `loadWeights` / `saveWeights`. */
export const WEIGHT_FORMATS = ['openai', 'open_clip', 'tinyclip', 'hf-clip', 'torchvision', 'ibn-net'] as const;
export type WeightFormat = (typeof WEIGHT_FORMATS)[number];

/** The model families with key maps. */
export type ModelFamily = 'cnn' | 'clip-vit' | 'clip-text';

/** Where one canonical tensor lives in a file. */
export interface KeyRule {
  /** File keys; several keys are concatenated along PyTorch axis 0 (HF q/k/v → fused in_proj). */
  readonly keys: readonly string[];
  /** Layout of the file tensor relative to tfjs (differs from the spec for HF's `visual_projection`). */
  readonly layout: ParamLayout;
}

/** How a file of one format relates to one model family. */
export interface KeyMap {
  readonly format: WeightFormat;
  rule(spec: ParamSpec): KeyRule;
  /** True if the key belongs to the model's namespace (unconsumed owned keys are "unexpected"). */
  owns(key: string): boolean;
}

const FAMILY_FORMATS: Record<ModelFamily, readonly WeightFormat[]> = {
  cnn: ['torchvision', 'ibn-net'],
  'clip-vit': ['openai', 'open_clip', 'tinyclip', 'hf-clip'],
  'clip-text': ['openai', 'open_clip', 'tinyclip'],
};

/** Formats applicable to a family. */
export function formatsFor(family: ModelFamily): readonly WeightFormat[] {
  return FAMILY_FORMATS[family];
}

function prefixed(format: WeightFormat, prefix: string, owns: (k: string) => boolean): KeyMap {
  return { format, rule: (s) => ({ keys: [prefix + s.name], layout: s.layout }), owns };
}

const HF_BLOCK: Record<string, string> = {
  'ln_1': 'layer_norm1',
  'ln_2': 'layer_norm2',
  'attn.out_proj': 'self_attn.out_proj',
  'mlp.c_fc': 'mlp.fc1',
  'mlp.c_proj': 'mlp.fc2',
};

/** Hugging Face `CLIPVisionModelWithProjection` key(s) of a canonical ViT tensor. */
export function hfKeys(spec: ParamSpec): KeyRule {
  const n = spec.name;
  const v = 'vision_model.';
  const fixed: Record<string, string> = {
    'conv1.weight': `${v}embeddings.patch_embedding.weight`,
    class_embedding: `${v}embeddings.class_embedding`,
    positional_embedding: `${v}embeddings.position_embedding.weight`,
    'ln_pre.weight': `${v}pre_layrnorm.weight`,
    'ln_pre.bias': `${v}pre_layrnorm.bias`,
    'ln_post.weight': `${v}post_layernorm.weight`,
    'ln_post.bias': `${v}post_layernorm.bias`,
  };
  if (n in fixed) return { keys: [fixed[n]!], layout: spec.layout };
  if (n === 'proj') return { keys: ['visual_projection.weight'], layout: 'linear' }; // HF Linear [out, width]
  const m = /^transformer\.resblocks\.(\d+)\.(.+)$/.exec(n);
  if (!m) throw new Error(`hf-clip: no key map for '${n}'`);
  const p = `${v}encoder.layers.${m[1]}.`;
  const rest = m[2]!;
  if (rest === 'attn.in_proj_weight' || rest === 'attn.in_proj_bias') {
    const suffix = rest.endsWith('weight') ? 'weight' : 'bias';
    return { keys: ['q', 'k', 'v'].map((x) => `${p}self_attn.${x}_proj.${suffix}`), layout: spec.layout };
  }
  const dot = rest.lastIndexOf('.');
  const mod = HF_BLOCK[rest.slice(0, dot)];
  if (!mod) throw new Error(`hf-clip: no key map for '${n}'`);
  return { keys: [`${p}${mod}${rest.slice(dot)}`], layout: spec.layout };
}

/** The key map of `format` for `family`; `keys` (file keys) resolve the OpenAI bare-vs-`visual.` choice. */
export function keyMapFor(family: ModelFamily, format: WeightFormat, keys: ReadonlySet<string>): KeyMap {
  if (!FAMILY_FORMATS[family].includes(format)) {
    throw new Error(`Weight format '${format}' does not apply to a ${family} model (use one of: ${FAMILY_FORMATS[family].join(', ')})`);
  }
  if (family === 'cnn') return prefixed(format, '', () => true);
  if (family === 'clip-text' && format === 'tinyclip') return prefixed(format, '_text_encoder.', (k) => k.startsWith('_text_encoder.'));
  if (family === 'clip-text') return prefixed(format, '', (k) => !k.startsWith('visual.') && k !== 'logit_scale');
  if (format === 'tinyclip') return prefixed(format, '_image_encoder.visual.', (k) => k.startsWith('_image_encoder.visual.'));
  if (format === 'hf-clip') return { format, rule: hfKeys, owns: (k) => k.startsWith('vision_model.') || k.startsWith('visual_projection.') };
  const bare = ![...keys].some((k) => k.startsWith('visual.')) && keys.has('class_embedding');
  return bare ? prefixed(format, '', () => true) : prefixed(format, 'visual.', (k) => k.startsWith('visual.'));
}

/** File keys that are known and deliberately skipped (reported as `ignored`). */
export function isIgnorable(family: ModelFamily, key: string): boolean {
  if (key.endsWith('.num_batches_tracked')) return true;
  if (family === 'cnn') return key.startsWith('fc.');
  if (family === 'clip-vit') return key === 'vision_model.embeddings.position_ids';
  return false;
}

/** Guess the format of a file for a model family from its keys. */
export function detectFormat(family: ModelFamily, keys: ReadonlySet<string>): WeightFormat {
  if (family === 'cnn') return 'torchvision';
  const any = (prefix: string): boolean => [...keys].some((k) => k.startsWith(prefix));
  if (family === 'clip-text') return any('_text_encoder.') ? 'tinyclip' : 'openai';
  if (any('vision_model.')) return 'hf-clip';
  if (any('_image_encoder.visual.')) return 'tinyclip';
  return 'openai';
}
