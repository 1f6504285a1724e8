import { describe, expect, it } from 'vitest';
import { FIG3_EPOCHS, PAPER_CELLS, findPaperCell, paperCell, paperCellKeys } from './paper-values';

const REQUIRED = [
  'I/CLIP-SENet*', 'I/MBR', 'I/CLIP-ReID (a)', 'I/CLIP-ReID (b)', 'I/TransReID*', 'I/FastReID',
  'II/small', 'II/medium', 'II/large', 'III/small', 'III/medium', 'III/large',
  'IV/baseline', 'IV/+SEM', 'IV/+SEM+AFEM', 'IV/+CV',
  'V/G=4', 'V/G=8', 'V/G=16', 'V/G=32', 'V/G=64', 'V/G=128',
  'VI/resnet50-ibn-a', 'VI/resnet101-ibn-a', 'VI/se-resnet101-ibn-a', 'VI/resnext101-ibn-a',
  'fig3/supcon/baseline', 'fig3/triplet/baseline', 'fig3/supcon/full', 'fig3/triplet/full',
];

describe('paper values', () => {
  it('has every key the ablation YAMLs reference, each once, with a source', () => {
    const keys = paperCellKeys();
    for (const k of REQUIRED) expect(keys).toContain(k);
    expect(new Set(keys).size).toBe(keys.length);
    expect(PAPER_CELLS.every((c) => c.source.length > 0 && c.key.startsWith(`${c.table}/`))).toBe(true);
  });

  it('holds the numbers of PAPER.md', () => {
    expect(paperCell('I/CLIP-SENet*').values).toEqual({ mAP: 92.9, rank1: 98.7, rank5: 99.1 });
    expect(paperCell('I/CLIP-ReID (b)').values).toEqual({ mAP: 91.7 });
    expect(paperCell('II/medium')).toMatchObject({ dataset: 'vehicleid-1600', values: { rank1: 85.5, rank5: 96.5 } });
    expect(paperCell('III/large')).toMatchObject({ dataset: 'veriwild-large', values: { mAP: 79.5, rank1: 95.4 }, clipSenet: true });
    expect(paperCell('III/PVEN/small')).toMatchObject({ values: { mAP: 79.8, rank1: 94.0 }, clipSenet: false });
    expect(paperCell('IV/+SEM').values).toEqual({ mAP: 87.3, rank1: 97.0, rank5: 97.6 });
    expect(paperCell('V/G=16').values).toEqual({ mAP: 91.7, rank1: 98.2 });
    expect(paperCell('VI/se-resnet101-ibn-a')).toMatchObject({ dataset: 'veri776', values: { mAP: 91.0, rank1: 97.8, rank5: 98.7 } });
  });

  it('says Fig. 3 values were not recovered', () => {
    const c = paperCell('fig3/triplet/full');
    expect(c.values).toEqual({});
    expect(c.source).toMatch(/not recovered/);
    expect(FIG3_EPOCHS).toEqual([8, 12, 16, 20, 24]);
  });

  it('lists the known keys when a key is unknown', () => {
    expect(findPaperCell('IV/nope')).toBeUndefined();
    expect(() => paperCell('IV/nope')).toThrow(/unknown paper cell 'IV\/nope'; known keys: .*IV\/\+SEM\+AFEM.*V\/G=32/);
  });
});
