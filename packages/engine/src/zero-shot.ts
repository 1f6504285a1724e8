/**
 * Zero-shot attribute accuracy of a pretrained SEM (issue 6: show that CLIP-style pretraining on the synthetic
 * captions learned semantics — colour, type, view — and not identities). Class embeddings come from text only,
 * as a counterfactual prompt ensemble written in the caption grammar itself (`captionFor`): for each attribute
 * value, every prompt record's caption re-rendered with that attribute set to the value (all else — other
 * attributes, visible details — unchanged), embedded, normalised and averaged. Every value of an attribute thus
 * gets the same distribution of the other attributes, so e.g. the "bus" prototype is not "the colour buses happen
 * to have in the training set" (plain per-value means of the training captions are confounded that way: with few
 * type + colour models they scored type below chance). Each held-out image (identities never seen in training)
 * is assigned the value with the highest cosine similarity.
 */
import { tf } from '@clip-senet/core';
import type { Tensor2D } from '@clip-senet/core';
import type { ClipTextTransformer, ClipVisionTransformer, WordTokenizer } from '@clip-senet/backbones';
import { captionFor, type CaptionRecord, type VehicleIdentity } from '@clip-senet/datasets';

/** The attributes scored. */
export const ZERO_SHOT_ATTRIBUTES = ['colour', 'type', 'view'] as const;
export type ZeroShotAttribute = (typeof ZERO_SHOT_ATTRIBUTES)[number];

/** Accuracy of one attribute. */
export interface AttributeAccuracy {
  readonly accuracy: number;
  /** 1 / number of classes (the values present in the training captions). */
  readonly chance: number;
  /** Accuracy of always answering the held-out set's most frequent value (the best constant guess). */
  readonly majority: number;
  /** Mean per-class recall over the values present in the held-out set (insensitive to class imbalance). */
  readonly balancedAccuracy: number;
  /** Balanced accuracy of any constant guess: 1 / number of values present in the held-out set. */
  readonly balancedChance: number;
  /** Recall of each value present in the held-out set (sorted): which values are learned and which are not. */
  readonly recall: Readonly<Record<string, number>>;
  readonly classes: readonly string[];
  readonly numImages: number;
  /** Accuracy among the held-out images of each view (views sorted): tells a cue that some views hide from one not learned at all. */
  readonly byView: Readonly<Record<string, { readonly accuracy: number; readonly numImages: number }>>;
}

/** Per-attribute results. */
export type ZeroShotReport = Readonly<Record<ZeroShotAttribute, AttributeAccuracy>>;

/** Options of {@link zeroShotAccuracy}. */
export interface ZeroShotOptions {
  /** At most this many training records (an even stride through them) seed the prompt ensemble (default 64). */
  readonly promptRecords?: number;
}

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

/** The caption of `r`'s vehicle and view with one attribute replaced by `value`. */
export function counterfactualCaption(r: CaptionRecord, attr: ZeroShotAttribute, value: string): string {
  const a = { ...r.attributes, [attr]: value };
  const id: VehicleIdentity = { vehicleId: r.vehicleId, type: a.type, colour: a.colour, rgb: [0, 0, 0], details: a.details };
  return captionFor(id, a.view);
}

/** Unit vector of the mean of `rows`. */
function meanDirection(rows: readonly Float32Array[]): Float32Array {
  const s = new Float32Array(rows[0]!.length);
  for (const r of rows) for (let k = 0; k < s.length; k++) s[k]! += r[k]!;
  const n = Math.hypot(...s) || 1;
  return s.map((v) => v / n);
}

/** The value whose prototype has the highest dot product with `e` (the first one on ties). */
function nearestValue(protos: Iterable<readonly [string, Float32Array]>, e: Float32Array): string {
  let best = '';
  let bestScore = -Infinity;
  for (const [value, p] of protos) {
    let s = 0;
    for (let k = 0; k < p.length; k++) s += p[k]! * e[k]!;
    if (s > bestScore) [best, bestScore] = [value, s];
  }
  return best;
}

/** Class prototypes of every attribute: value (sorted) → unit vector, from the counterfactual prompts. */
function prototypes(prompts: readonly CaptionRecord[], classes: Record<ZeroShotAttribute, string[]>, towers: { readonly text: ClipTextTransformer; readonly tokenizer: WordTokenizer }): Map<ZeroShotAttribute, Map<string, Float32Array>> {
  const captions = new Map<string, string[]>(); // `<attr>/<value>` → prompt captions (one per prompt record)
  for (const attr of ZERO_SHOT_ATTRIBUTES) for (const v of classes[attr]) captions.set(`${attr}/${v}`, prompts.map((r) => counterfactualCaption(r, attr, v)));
  const unique = [...new Set([...captions.values()].flat())];
  const emb = embedTexts(towers.text, towers.tokenizer, unique);
  const byCaption = new Map(unique.map((c, i) => [c, emb[i]!]));
  return new Map(ZERO_SHOT_ATTRIBUTES.map((attr) => [attr, new Map(classes[attr].map((v) => [v, meanDirection(captions.get(`${attr}/${v}`)!.map((c) => byCaption.get(c)!))]))]));
}

/**
 * Score held-out images: `imageEmbeddings` are the SEM's embeddings of `heldOut` (rows, any norm); the classes are
 * the attribute values of the `train` captions, the prompts are built from (at most `promptRecords` of) them.
 */
export function zeroShotAccuracy(
  imageEmbeddings: readonly Float32Array[],
  heldOut: readonly CaptionRecord[],
  train: readonly CaptionRecord[],
  towers: { readonly text: ClipTextTransformer; readonly tokenizer: WordTokenizer },
  options: ZeroShotOptions = {},
): ZeroShotReport {
  if (imageEmbeddings.length !== heldOut.length) throw new Error(`zeroShotAccuracy: ${imageEmbeddings.length} embeddings for ${heldOut.length} images`);
  if (train.length === 0) throw new Error('zeroShotAccuracy: no training captions to build prompts from');
  const classes = Object.fromEntries(ZERO_SHOT_ATTRIBUTES.map((a) => [a, [...new Set(train.map((r) => r.attributes[a] as string))].sort()])) as Record<ZeroShotAttribute, string[]>;
  const stride = Math.ceil(train.length / Math.max(1, options.promptRecords ?? 64));
  const protos = prototypes(train.filter((_, i) => i % stride === 0), classes, towers);
  const report = {} as Record<ZeroShotAttribute, AttributeAccuracy>;
  for (const attr of ZERO_SHOT_ATTRIBUTES) {
    let correct = 0;
    const counts = new Map<string, number>();
    const hits = new Map<string, number>();
    const byView = new Map<string, { hits: number; n: number }>();
    heldOut.forEach((r, i) => {
      const best = nearestValue(protos.get(attr)!, imageEmbeddings[i]!);
      const truth = r.attributes[attr];
      if (best === truth) {
        correct += 1;
        hits.set(truth, (hits.get(truth) ?? 0) + 1);
      }
      counts.set(truth, (counts.get(truth) ?? 0) + 1);
      const v = byView.get(r.attributes.view) ?? { hits: 0, n: 0 };
      byView.set(r.attributes.view, { hits: v.hits + (best === truth ? 1 : 0), n: v.n + 1 });
    });
    const n = heldOut.length;
    const recall = Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([v, c]) => [v, (hits.get(v) ?? 0) / c]));
    const recalls = Object.values(recall);
    report[attr] = {
      accuracy: n ? correct / n : NaN, chance: 1 / classes[attr].length, majority: n ? Math.max(...counts.values()) / n : NaN,
      balancedAccuracy: n ? recalls.reduce((a, b) => a + b, 0) / recalls.length : NaN, balancedChance: n ? 1 / counts.size : NaN,
      recall, classes: classes[attr], numImages: n,
      byView: Object.fromEntries([...byView].sort(([a], [b]) => (a < b ? -1 : 1)).map(([v, c]) => [v, { accuracy: c.hits / c.n, numImages: c.n }])),
    };
  }
  return report;
}

/** Image embeddings of a batch as rows (eval mode). */
export function embedImages(vit: ClipVisionTransformer, images: tf.Tensor4D): Float32Array[] {
  const rows = tf.tidy(() => vit.forward(images, { training: false }).features.arraySync() as number[][]);
  return rows.map((r) => Float32Array.from(r));
}

/**
 * Nearest-class-mean probe of the image tower alone (no text): each attribute value's prototype is the mean
 * direction of the normalised embeddings of the training images with that value; each held-out image gets the value
 * of the most similar prototype. High probe but low zero-shot accuracy means the image tower sees the attribute and
 * the towers are not aligned on it; both low means the image tower does not see it.
 */
export function probeAccuracy(
  trainEmbeddings: readonly Float32Array[],
  train: readonly CaptionRecord[],
  heldOutEmbeddings: readonly Float32Array[],
  heldOut: readonly CaptionRecord[],
): Readonly<Record<ZeroShotAttribute, number>> {
  if (trainEmbeddings.length !== train.length || heldOutEmbeddings.length !== heldOut.length) {
    throw new Error(`probeAccuracy: ${trainEmbeddings.length}/${heldOutEmbeddings.length} embeddings for ${train.length}/${heldOut.length} images`);
  }
  const unit = (v: Float32Array): Float32Array => {
    const n = Math.hypot(...v) || 1;
    return v.map((x) => x / n);
  };
  const out = {} as Record<ZeroShotAttribute, number>;
  for (const attr of ZERO_SHOT_ATTRIBUTES) {
    const groups = new Map<string, Float32Array[]>();
    train.forEach((r, i) => groups.set(r.attributes[attr], [...(groups.get(r.attributes[attr]) ?? []), unit(trainEmbeddings[i]!)]));
    const protos = [...groups].map(([v, rows]) => [v, meanDirection(rows)] as const);
    let correct = 0;
    heldOut.forEach((r, i) => {
      if (nearestValue(protos, heldOutEmbeddings[i]!) === r.attributes[attr]) correct += 1;
    });
    out[attr] = heldOut.length ? correct / heldOut.length : NaN;
  }
  return out;
}
