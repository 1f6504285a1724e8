import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAblation } from './definition';
import { parseShard, planAblation, shardKeys } from './plan';
import { sha256Hex } from '@clip-senet/core';
import { datasetTag } from './summarize';
import { parseConfigText } from '../testing';
import { paperCell } from '../report/paper-values';

const tiny = fileURLToPath(new URL('../../configs/synthetic/tiny.yaml', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'clip-senet-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ablationFile(name: string, body: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\ntitle: test\nbase: ${tiny}\n${body}`);
  return file;
}

const twoVariants = `baseline: base
seeds: [1, 2]
variants:
  - name: base
    description: appearance only
    set: { model: { sem: null, fusion: { $replace: true, name: appearance-only, outDim: 32 } } }
  - name: full
    description: the paper's fusion
    paper: [IV/+SEM+AFEM]
  - name: full-copy
    description: the same config as full
    set: { train: { seed: 99 } }
`;

describe('planAblation', () => {
  it('expands variants × seeds into validated configs keyed by the resolved-config hash', () => {
    const plan = planAblation(loadAblation(ablationFile('grid', twoVariants)), { profile: 'default' });
    expect(plan.runs.map((r) => `${r.variant}/${r.seed}`)).toEqual(['base/1', 'base/2', 'full/1', 'full/2', 'full-copy/1', 'full-copy/2']);
    for (const r of plan.runs) {
      expect(r.runKey).toBe(sha256Hex(r.configText).slice(0, 12)); // no weights files: the key is the text's
      expect(r.inputs).toEqual({});
      expect(r.config.train.seed).toBe(r.seed); // the seed layer comes after the variant's diff
    }
    expect(plan.runs[0]!.config.model.sem).toBeNull();
    expect(plan.runs[0]!.config.model.fusion).toEqual({ name: 'appearance-only', outDim: 32, cameraView: null });
    // identical resolved configs share a key (trained once); different seeds do not
    expect(plan.runs[4]!.runKey).toBe(plan.runs[2]!.runKey);
    expect(new Set(plan.runs.map((r) => r.runKey)).size).toBe(4);
    // stable: planning again gives the same keys
    expect(planAblation(loadAblation(ablationFile('grid', twoVariants)), { profile: 'default' }).runs.map((r) => r.runKey)).toEqual(plan.runs.map((r) => r.runKey));
  });

  it('a weights file the config names is part of the key: re-made SEM weights give new keys, same text', () => {
    const weights = join(dir, 'sem.safetensors');
    const file = ablationFile('weights', `${twoVariants.replace('paper: [IV/+SEM+AFEM]', `paper: [IV/+SEM+AFEM]\n    set: { model: { sem: { weights: ${weights} } } }`)}`);
    const full = (): { key: string; text: string; inputs: Readonly<Record<string, string>> } => {
      const r = planAblation(loadAblation(file), { profile: 'default' }).runs.find((x) => x.variant === 'full')!;
      return { key: r.runKey, text: r.configText, inputs: r.inputs };
    };
    const missing = full();
    expect(missing.inputs).toEqual({ 'model.sem.weights': 'missing' });
    writeFileSync(weights, 'first weights');
    const first = full();
    expect(first.inputs['model.sem.weights']).toMatch(/^[0-9a-f]{64}$/);
    writeFileSync(weights, 'other weights, same path');
    const second = full();
    expect(second.text).toBe(first.text);
    expect(new Set([missing.key, first.key, second.key]).size).toBe(3);
    expect(second.key).not.toBe(sha256Hex(second.text).slice(0, 12)); // the weights' digest is part of the key
    // the baseline loads no weights: its key is unchanged
    expect(planAblation(loadAblation(file), { profile: 'default' }).runs[0]!.inputs).toEqual({});
  });

  it('profiles replace seeds, pick variants and add diffs; --set overrides change the keys', () => {
    const file = ablationFile('profiles', `${twoVariants}profiles:
  smoke: { seeds: [7], variants: [base, full], set: { train: { maxSteps: 1 } } }
`);
    const a = loadAblation(file);
    const smoke = planAblation(a, { profile: 'smoke' });
    expect(smoke.runs.map((r) => `${r.variant}/${r.seed}/${r.config.train.maxSteps}`)).toEqual(['base/7/1', 'full/7/1']);
    const over = planAblation(a, { profile: 'smoke', overrides: ['train.maxSteps=2'] });
    expect(over.runs[0]!.config.train.maxSteps).toBe(2);
    expect(over.runs[0]!.runKey).not.toBe(smoke.runs[0]!.runKey);
    expect(planAblation(a, { profile: 'smoke', seeds: [5, 6] }).runs.map((r) => r.seed)).toEqual([5, 6, 5, 6]);
  });

  it('bad definitions fail with one message naming the file and the key', () => {
    expect(() => loadAblation(ablationFile('dup', twoVariants.replace('name: full-copy', 'name: full')))).toThrow(/dup\.yaml[\s\S]*duplicate variant name 'full'/);
    expect(() => loadAblation(ablationFile('nobase', twoVariants.replace('baseline: base', 'baseline: nope')))).toThrow(/baseline: 'nope' is not a variant/);
    expect(() => loadAblation(ablationFile('typo', `${twoVariants}sedes: [1]\n`))).toThrow(/typo\.yaml[\s\S]*sedes/);
    expect(() => loadAblation(ablationFile('paperkey', twoVariants.replace('paper: [IV/+SEM+AFEM]', 'paper: [IV/+SEM+AFEM, IV/typo]'))))
      .toThrow(/paperkey\.yaml: variants\[1\]\.paper\[1\]: 'IV\/typo' is not a paper cell [^\n]*\(line 12\)$/);
    const wrongName = join(dir, 'other.yaml');
    writeFileSync(wrongName, `name: grid\ntitle: t\nbase: ${tiny}\n${twoVariants}`);
    expect(() => loadAblation(wrongName)).toThrow(/name 'grid' must equal the file name 'other'/);
    const badVariant = loadAblation(ablationFile('badvariant', twoVariants.replace('{ train: { seed: 99 } }', '{ train: { epochz: 3 } }')));
    expect(() => planAblation(badVariant, { profile: 'default' }))
      .toThrow(/^Invalid experiment config of variant 'full-copy' in ablation \S*badvariant\.yaml \(seed 1, profile default, base \S*tiny\.yaml\) \(1 issue\):\n  \S*badvariant\.yaml: train\.epochz: unknown key \(not in the schema\) \(line 15\)$/);
  });

  it("an invalid run's error names the file and line of each bad key, whichever layer set it", () => {
    const file = ablationFile('layers', `${twoVariants.replace("name: full-copy\n    description: the same config as full\n    set: { train: { seed: 99 } }", `name: full-copy
    description: the same config as full
    set:
      model:
        fusion: { outDim: -4 }`)}profiles:
  smoke:
    set: { train: { epochs: 0 } }
`);
    const a = loadAblation(file);
    // the variant's nested key (line 17) and the profile's key (line 20)
    expect(() => planAblation(a, { profile: 'default' })).toThrow(/variant 'full-copy'[^\n]*\n  \S*layers\.yaml: model\.fusion\.outDim: [^\n]* \(line 17\)$/);
    expect(() => planAblation(a, { profile: 'smoke' })).toThrow(/variant 'base'[^\n]*\n  \S*layers\.yaml: train\.epochs: [^\n]* \(line 20\)$/);
    // a --set override is named as such; a --seeds seed as --seeds
    expect(() => planAblation(loadAblation(ablationFile('grid', twoVariants)), { profile: 'default', overrides: ['train.epochz=3'] }))
      .toThrow(/--set train\.epochz=3: train\.epochz: unknown key/);
    expect(() => planAblation(loadAblation(ablationFile('grid', twoVariants)), { profile: 'default', seeds: [1.5] }))
      .toThrow(/--seeds: train\.seed: /);
    // a seed from the list is located at its item
    const seeds = loadAblation(ablationFile('seedline', twoVariants.replace('seeds: [1, 2]', 'seeds:\n  - 1\n  - 2')));
    expect(seeds.source.locate(['seeds', 1]).line).toBe(7);
  });
});

describe('shards', () => {
  it('are disjoint and cover every distinct run key; --shard is validated', () => {
    const plan = planAblation(loadAblation(ablationFile('shards', twoVariants)), { profile: 'default' });
    const all = shardKeys(plan.runs, undefined);
    const parts = [1, 2, 3].map((index) => shardKeys(plan.runs, { index, count: 3 }));
    expect(parts.reduce((n, p) => n + p.size, 0)).toBe(all.size);
    expect(new Set(parts.flatMap((p) => [...p]))).toEqual(all);
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    for (const bad of ['0/2', '3/2', 'x', '1/0']) expect(() => parseShard(bad)).toThrow(/--shard must be i\/n/);
  });
});

describe('datasetTag', () => {
  it('spells every dataset split as the paper cells do, so runs land in the "ours" column', () => {
    const tag = (lines: string): string => datasetTag(parseConfigText(lines));
    expect(tag('data: { dataset: synthetic }')).toBe('synthetic');
    expect(tag('data: { dataset: veri776, root: datasets/VeRi }')).toBe('veri776');
    for (const [size, split] of [[3000, 'small'], [5000, 'medium'], [10000, 'large']] as const) {
      const t = tag(`data: { dataset: veriwild, root: datasets/VERI-Wild, testSize: ${size} }`);
      expect(t).toBe(`veriwild-${split}`);
      expect(paperCell(`III/${split}`).dataset).toBe(t);
    }
    for (const [size, split] of [[800, 'small'], [1600, 'medium'], [2400, 'large']] as const) {
      expect(paperCell(`II/${split}`).dataset).toBe(tag(`data: { dataset: vehicleid, root: datasets/VehicleID, testSize: ${size} }`));
    }
  });
});
