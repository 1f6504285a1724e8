import { describe, expect, it } from 'vitest';
import { WordTokenizer } from './tokenizer';

describe('WordTokenizer', () => {
  const tok = WordTokenizer.fromCaptions(['a red sedan', 'a blue SUV, seen from the front', 'a red truck'], { contextLength: 6 });

  it('orders the vocabulary pad, unk, words by frequency, sot, eot', () => {
    expect(tok.vocab.slice(0, 4)).toEqual(['<pad>', '<unk>', 'a', 'red']);
    expect(tok.vocab.slice(-2)).toEqual(['<sot>', '<eot>']);
    expect(tok.eotId).toBe(tok.vocabSize - 1);
  });

  it('encodes to a fixed length with EOT as the argmax, truncating but keeping EOT', () => {
    const ids = tok.encode('A red bicycle');
    expect(ids).toEqual([tok.sotId, 2, 3, tok.unkId, tok.eotId, 0]);
    const long = tok.encode('a red sedan a blue suv seen');
    expect(long).toHaveLength(6);
    expect(long[5]).toBe(tok.eotId);
    expect(Math.max(...long)).toBe(tok.eotId);
    expect(tok.decode(ids)).toBe('a red');
  });

  it('round-trips through JSON and rejects malformed vocabularies', () => {
    expect(new WordTokenizer(tok.toJSON()).encode('red truck')).toEqual(tok.encode('red truck'));
    expect(() => new WordTokenizer({ kind: 'word', contextLength: 4, vocab: ['a', 'b'] })).toThrow(/vocab must/);
  });
});
