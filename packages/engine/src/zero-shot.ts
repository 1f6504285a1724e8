/**
 * Zero-shot attribute accuracy of a pretrained SEM (issue 6: show that CLIP-style pretraining on the synthetic
 * captions learned semantics — colour, type, view — and not identities). For each attribute value the class
 * embedding is built from text only: the normalised mean of the normalised text embeddings of the training
 * captions that state that value (a prompt ensemble drawn from the caption grammar itself). Each held-out image
 * (identities never seen in training) is assigned the value with the highest cosine similarity.
 */
import { tf } from '@clip-senet/core';
import type { Tensor2D } from '@clip-senet/core';
import type { ClipTextTransformer, ClipVisionTransformer, WordTokenizer } from '@clip-senet/backbones';
import type { CaptionRecord } from '@clip-senet/datasets';

/** The attributes scored. */
export const ZERO_SHOT_ATTRIBUTES = ['colour', 'type', 'view'] as const;
export type ZeroShotAttribute = (typeof ZERO_SHOT_ATTRIBUTES)[number];

/** Accuracy of one attribute. */
export interface AttributeAccuracy {
  readonly accuracy: number;
  /** 1 / number of classes present in the held-out set's label space. */
  readonly chance: number;
  readonly classes: readonly string[];
  readonly numImages: number;
}

/** Per-attribute results. */
export type ZeroShotReport = Readonly<Record<ZeroShotAttribute, AttributeAccuracy>>;

function normalizeRows(x: Tensor2D): Tensor2D {
  return tf.tidy(() => tf.div(x, tf.add(tf.norm(x, 'euclidean', 1, true), 1e-12)) as Tensor2D);
}

/** Text embeddings (normalised) of `captions`, in batches. */
function embedTexts(text: ClipTextTransformer, tokenizer: WordTokenizer, captions: readonly string[], batch = 64): Float32Array[] {
  const out: Float32Array[] = [];
  for (let i = 0; i < captions.length; i += batch) {
    const rows = tf.tidy(() => {
      const tokens = tokenizer.encodeBatch(captions.slice(i, i + batch));
      return normalizeRows(text.forward(tokens).features).arraySync() as number[][];
    });
    for (const r of rows) out.push(Float32Array.from(r));
  }
  return out;
}

/** Class prototypes of one attribute from the training captions: value → unit vector. */
function prototypes(records: readonly CaptionRecord[], embeddings: readonly Float32Array[], attr: ZeroShotAttribute): Map<string, Float32Array> {
  const sums = new Map<string, Float32Array>();
  records.forEach((r, i) => {
    const v = r.attributes[attr];
    const e = embeddings[i]!;
    const s = sums.get(v) ?? new Float32Array(e.length);
    for (let k = 0; k < e.length; k++) s[k]! += e[k]!;
    sums.set(v, s);
  });
  for (const s of sums.values()) {
    const n = Math.hypot(...s) || 1;
    for (let k = 0; k < s.length; k++) s[k]! /= n;
  }
  return new Map([...sums.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * Score held-out images: `imageEmbeddings` are the SEM's embeddings of `heldOut` (rows, any norm), the text
 * tower + tokenizer embed the `train` captions to build the class prototypes.
 */
export function zeroShotAccuracy(
  imageEmbeddings: readonly Float32Array[],
  heldOut: readonly CaptionRecord[],
  train: readonly CaptionRecord[],
  towers: { readonly text: ClipTextTransformer; readonly tokenizer: WordTokenizer },
): ZeroShotReport {
  if (imageEmbeddings.length !== heldOut.length) throw new Error(`zeroShotAccuracy: ${imageEmbeddings.length} embeddings for ${heldOut.length} images`);
  const textEmb = embedTexts(towers.text, towers.tokenizer, train.map((r) => r.caption));
  const report = {} as Record<ZeroShotAttribute, AttributeAccuracy>;
  for (const attr of ZERO_SHOT_ATTRIBUTES) {
    const protos = prototypes(train, textEmb, attr);
    let correct = 0;
    heldOut.forEach((r, i) => {
      let best = '';
      let bestScore = -Infinity;
      for (const [value, p] of protos) {
        let s = 0;
        for (let k = 0; k < p.length; k++) s += p[k]! * imageEmbeddings[i]![k]!;
        if (s > bestScore) [best, bestScore] = [value, s];
      }
      if (best === r.attributes[attr]) correct += 1;
    });
    report[attr] = { accuracy: heldOut.length ? correct / heldOut.length : NaN, chance: 1 / protos.size, classes: [...protos.keys()], numImages: heldOut.length };
  }
  return report;
}

/** Image embeddings of a batch as rows (eval mode). */
export function embedImages(vit: ClipVisionTransformer, images: tf.Tensor4D): Float32Array[] {
  const rows = tf.tidy(() => vit.forward(images, { training: false }).features.arraySync() as number[][]);
  return rows.map((r) => Float32Array.from(r));
}
