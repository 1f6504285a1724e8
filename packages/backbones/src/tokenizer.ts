/**
 * A word-level tokenizer for pretraining a small CLIP on synthetic captions (not OpenAI's BPE).
 * Vocabulary: `<pad>` = 0, `<unk>` = 1, caption words by descending frequency (ties alphabetical),
 * then `<sot>` and `<eot>` as the two highest ids — so, as in OpenAI CLIP, the end-of-text position is
 * the argmax of the token ids, which is where the text tower pools.
 */
import { tf } from '@clip-senet/core';

/** Serialised tokenizer (JSON). */
export interface WordTokenizerState {
  readonly kind: 'word';
  readonly contextLength: number;
  /** Words by id (specials included). */
  readonly vocab: readonly string[];
}

const PAD = '<pad>';
const UNK = '<unk>';
const SOT = '<sot>';
const EOT = '<eot>';

/** Lower-cased alphanumeric words of `text`. */
export function splitWords(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
}

/** Word-level tokenizer with a fixed context length. */
export class WordTokenizer {
  readonly contextLength: number;
  readonly vocab: readonly string[];
  private readonly ids: Map<string, number>;

  constructor(state: WordTokenizerState) {
    const v = state.vocab;
    if (v[0] !== PAD || v[1] !== UNK || v[v.length - 2] !== SOT || v[v.length - 1] !== EOT) {
      throw new Error(`WordTokenizer: vocab must start with ${PAD}, ${UNK} and end with ${SOT}, ${EOT}`);
    }
    if (!Number.isInteger(state.contextLength) || state.contextLength < 2) throw new Error(`WordTokenizer: contextLength must be an integer ≥ 2, got ${state.contextLength}`);
    this.contextLength = state.contextLength;
    this.vocab = [...v];
    this.ids = new Map(v.map((w, i) => [w, i]));
  }

  /** Build the vocabulary from `captions` (words seen fewer than `minCount` times map to `<unk>`). */
  static fromCaptions(captions: readonly string[], opts: { contextLength: number; minCount?: number }): WordTokenizer {
    const counts = new Map<string, number>();
    for (const c of captions) for (const w of splitWords(c)) counts.set(w, (counts.get(w) ?? 0) + 1);
    const words = [...counts.entries()]
      .filter(([, n]) => n >= (opts.minCount ?? 1))
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([w]) => w);
    return new WordTokenizer({ kind: 'word', contextLength: opts.contextLength, vocab: [PAD, UNK, ...words, SOT, EOT] });
  }

  get vocabSize(): number {
    return this.vocab.length;
  }
  get padId(): number {
    return 0;
  }
  get unkId(): number {
    return 1;
  }
  get sotId(): number {
    return this.vocab.length - 2;
  }
  get eotId(): number {
    return this.vocab.length - 1;
  }

  /** `[<sot>, words…, <eot>, <pad>…]` of length `contextLength` (too long: truncated, `<eot>` kept last). */
  encode(text: string): number[] {
    const body = splitWords(text).map((w) => this.ids.get(w) ?? this.unkId);
    const ids = [this.sotId, ...body.slice(0, this.contextLength - 2), this.eotId];
    while (ids.length < this.contextLength) ids.push(this.padId);
    return ids;
  }

  /** Words of `ids` without specials. */
  decode(ids: readonly number[]): string {
    return ids.filter((i) => i > 1 && i < this.sotId).map((i) => this.vocab[i]).join(' ');
  }

  /** `[N, contextLength]` int32 tensor of encoded texts. */
  encodeBatch(texts: readonly string[]): tf.Tensor2D {
    const data = new Int32Array(texts.length * this.contextLength);
    texts.forEach((t, i) => data.set(this.encode(t), i * this.contextLength));
    return tf.tensor2d(data, [texts.length, this.contextLength], 'int32');
  }

  toJSON(): WordTokenizerState {
    return { kind: 'word', contextLength: this.contextLength, vocab: [...this.vocab] };
  }
}
