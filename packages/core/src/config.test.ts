import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import {
  applyOverrides,
  deepFreeze,
  deepMerge,
  formatConfigPath,
  isPlainObject,
  layerConfig,
  loadConfigFile,
  overrideConfig,
  parseOverrides,
  resolveConfigFile,
  stringifyConfig,
  validateConfig,
} from './config';
import { errorOf } from './testing';

const Schema = z.strictObject({
  name: z.string(),
  model: z.strictObject({ depth: z.number().int(), width: z.number(), tags: z.array(z.string()).default([]) }),
  optimizer: z.strictObject({ lr: z.number().positive(), nesterov: z.boolean().default(false) }),
  note: z.string().nullable().default(null),
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'core-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function put(name: string, text: string): string {
  const p = join(dir, name);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
  return p;
}

const BASE = 'name: base\nmodel:\n  depth: 50\n  width: 1.0\n  tags: [a, b]\noptimizer:\n  lr: 0.1\n';


describe('deepMerge', () => {
  it('merges maps recursively, replaces arrays/scalars/null, keeps order, does not mutate', () => {
    const a = { x: { y: 1, z: [1, 2] }, k: 'a', n: { m: 1 } };
    const b = { x: { z: [3] }, k: null, n: 5, extra: true };
    const snapshot = JSON.stringify(a);
    expect(deepMerge(a, b)).toEqual({ x: { y: 1, z: [3] }, k: null, n: 5, extra: true });
    expect(Object.keys(deepMerge(a, b))).toEqual(['x', 'k', 'n', 'extra']);
    expect(JSON.stringify(a)).toBe(snapshot);
    expect(deepMerge({ a: 1 }, { a: { b: 2 } })).toEqual({ a: { b: 2 } });
  });
});

describe('deepFreeze', () => {
  it('freezes nested objects and arrays, leaves typed arrays', () => {
    const o = deepFreeze({ a: { b: [1, { c: 2 }] }, t: new Float32Array(2) });
    expect(Object.isFrozen(o.a.b)).toBe(true);
    expect(Object.isFrozen(o.a.b[1])).toBe(true);
    expect(() => {
      (o.a as { b: unknown }).b = 3;
    }).toThrow(TypeError);
  });
});

describe('parseOverrides / applyOverrides', () => {
  it('parses YAML scalar and flow values', () => {
    const o = parseOverrides(['a.b=3', 'a.c=true', 'a.d=[1,2]', 'a.e=null', "a.f='x y'", 'a.g={k: v}', 'a.h=x=y']);
    expect(o.map((x) => x.value)).toEqual([3, true, [1, 2], null, 'x y', { k: 'v' }, 'x=y']);
    expect(o[0]!.path).toEqual(['a', 'b']);
    expect(parseOverrides(['lr=3e-4'])[0]!.value).toBe(0.0003); // YAML 1.2: 3e-4 is a number
    expect(parseOverrides(['name=yes'])[0]!.value).toBe('yes');
  });

  it('rejects malformed overrides', () => {
    expect(() => parseOverrides(['ab'])).toThrow(/Invalid override '--set ab'.*key.path=value/);
    expect(() => parseOverrides(['a..b=1'])).toThrow(/empty key segment/);
    expect(() => parseOverrides(['a.b='])).toThrow(/empty value/);
    expect(() => parseOverrides(['__proto__.x=1'])).toThrow(/not allowed/);
    expect(() => parseOverrides(['a=[1,'])).toThrow(/not valid YAML/);
  });

  it('sets nested values, creates missing maps, does not mutate the input', () => {
    const obj = { a: { b: 1 } };
    const out = applyOverrides(obj, ['a.b=2', 'x.y.z=3', 'a.b=4']);
    expect(out).toEqual({ a: { b: 4 }, x: { y: { z: 3 } } });
    expect(obj).toEqual({ a: { b: 1 } });
  });

  it('errors when the parent is not a map', () => {
    expect(() => applyOverrides({ a: 3 }, ['a.b=1'])).toThrow("Cannot apply override '--set a.b=1': 'a' is a number (3), not a map");
    expect(() => applyOverrides({ a: [1] }, ['a.0=1'])).toThrow(/'a' is a list/);
    expect(() => applyOverrides({ a: { b: null } }, ['a.b.c=1'])).toThrow(/'a.b' is null/);
  });
});

describe('stringifyConfig', () => {
  it('round-trips, keeps key order, emits no anchors for shared objects', () => {
    const shared = { lr: 0.1 };
    const cfg = { z: 1, a: { s: 'yes', n: '1.0', e: '' }, p: shared, q: shared, l: [1, 'two', null] };
    const text = stringifyConfig(cfg);
    expect(text).not.toMatch(/[&*]a\d/);
    expect(parse(text)).toEqual(cfg);
    expect(text.indexOf('z:')).toBeLessThan(text.indexOf('a:'));
  });
});

describe('loadConfigFile', () => {
  it('loads, applies defaults and deep-freezes', () => {
    const cfg = loadConfigFile(put('base.yaml', BASE), Schema);
    expect(cfg).toEqual({
      name: 'base',
      model: { depth: 50, width: 1, tags: ['a', 'b'] },
      optimizer: { lr: 0.1, nesterov: false },
      note: null,
    });
    expect(Object.isFrozen(cfg.model.tags)).toBe(true);
  });

  it('resolves extends relative to the file with deep merge (arrays replace)', () => {
    put('base.yaml', BASE);
    put('sub/mid.yaml', 'extends: ../base.yaml\nmodel:\n  tags: [c]\n');
    const top = put('sub/top.yaml', 'extends: mid.yaml\nname: top\noptimizer:\n  nesterov: true\n');
    const cfg = loadConfigFile(top, Schema);
    expect(cfg.name).toBe('top');
    expect(cfg.model).toEqual({ depth: 50, width: 1, tags: ['c'] });
    expect(cfg.optimizer).toEqual({ lr: 0.1, nesterov: true });
    expect(resolveConfigFile(top).files.map((f) => f.split('/').pop())).toEqual(['base.yaml', 'mid.yaml', 'top.yaml']);
  });

  it('merges a list of extends in order', () => {
    put('base.yaml', BASE);
    put('lr.yaml', 'optimizer:\n  lr: 0.5\n');
    put('lr2.yaml', 'optimizer:\n  lr: 0.7\n');
    const top = put('top.yaml', 'extends: [base.yaml, lr.yaml, lr2.yaml]\n');
    expect(loadConfigFile(top, Schema).optimizer.lr).toBe(0.7);
  });

  it('rejects more than two levels of extends, naming the chain', () => {
    put('a.yaml', BASE);
    put('b.yaml', 'extends: a.yaml\n');
    put('c.yaml', 'extends: b.yaml\n');
    const d = put('d.yaml', 'extends: c.yaml\n');
    expect(loadConfigFile(join(dir, 'c.yaml'), Schema).name).toBe('base');
    expect(errorOf(() => loadConfigFile(d, Schema))).toMatch(/too deep \(at most 2 levels\): .*d\.yaml → .*c\.yaml → .*b\.yaml → .*a\.yaml/);
  });

  it('rejects extends cycles', () => {
    put('x.yaml', 'extends: y.yaml\n');
    const y = put('y.yaml', 'extends: x.yaml\n');
    expect(errorOf(() => loadConfigFile(y, Schema))).toMatch(/extends' cycle: .*y\.yaml → .*x\.yaml → .*y\.yaml/);
    const self = put('self.yaml', 'extends: self.yaml\n');
    expect(() => loadConfigFile(self, Schema)).toThrow(/cycle/);
  });

  it('reports missing base files and bad extends values', () => {
    const top = put('top.yaml', 'extends: missing.yaml\n');
    expect(() => loadConfigFile(top, Schema)).toThrow(/Cannot read config file .*missing\.yaml \(extended from .*top\.yaml\): ENOENT/);
    const bad = put('bad.yaml', 'extends: 3\n');
    expect(() => loadConfigFile(bad, Schema)).toThrow(/bad\.yaml: 'extends' must be a file path/);
  });

  it('applies overrides after extends', () => {
    put('base.yaml', BASE);
    const top = put('top.yaml', 'extends: base.yaml\n');
    const cfg = loadConfigFile(top, Schema, { overrides: ['optimizer.lr=0.01', 'model.tags=[x,y]', "note='a b'"] });
    expect(cfg.optimizer.lr).toBe(0.01);
    expect(cfg.model.tags).toEqual(['x', 'y']);
    expect(cfg.note).toBe('a b');
    expect(() => loadConfigFile(top, Schema, { overrides: ['name.x=1'] })).toThrow(/'name' is a string/);
  });

  it('reports YAML syntax errors with file, line and column', () => {
    const p = put('broken.yaml', 'name: a\nmodel:\n  depth: [1, 2\n');
    expect(errorOf(() => loadConfigFile(p, Schema))).toMatch(/broken\.yaml:\d+:\d+: invalid YAML/);
    const dup = put('dup.yaml', 'name: a\nname: b\n');
    expect(errorOf(() => loadConfigFile(dup, Schema))).toMatch(/dup\.yaml:2:1: invalid YAML: .*unique/i);
    const list = put('list.yaml', '- 1\n- 2\n');
    expect(() => loadConfigFile(list, Schema)).toThrow(/list\.yaml: expected a YAML mapping at the top level, got a list/);
  });

  it('lists every validation issue with the file and line that set it', () => {
    put('base.yaml', BASE);
    const top = put('top.yaml', 'extends: base.yaml\nmodel:\n  depth: deep\n  colour: red\noptimizer:\n  lr: -1\n');
    const msg = errorOf(() => loadConfigFile(top, Schema, { overrides: ['model.width=wide'] }));
    expect(msg).toMatch(/^Invalid config .*top\.yaml \(4 issues\):/);
    expect(msg).toMatch(/top\.yaml: model\.depth: .*expected number.* \(line 3\)/);
    expect(msg).toMatch(/top\.yaml: model\.colour: unknown key \(not in the schema\) \(line 4\)/);
    expect(msg).toMatch(/top\.yaml: optimizer\.lr: .*>0.* \(line 6\)/);
    expect(msg).toMatch(/--set model\.width=wide: model\.width: .*expected number/);
  });

  it('attributes issues inside a base file to the base file', () => {
    put('base.yaml', 'name: base\nmodel:\n  depth: 50\n  width: 1\n  tags: [a, 3]\noptimizer:\n  lr: 0.1\n');
    const top = put('top.yaml', 'extends: base.yaml\nname: top\n');
    expect(errorOf(() => loadConfigFile(top, Schema))).toMatch(/base\.yaml: model\.tags\[1\]: .*expected string.* \(line 5\)/);
  });

  it('points missing keys at the nearest existing ancestor', () => {
    const p = put('partial.yaml', 'name: x\nmodel:\n  depth: 1\noptimizer:\n  lr: 1\n');
    expect(errorOf(() => loadConfigFile(p, Schema))).toMatch(/partial\.yaml: model\.width: .*\(under 'model' at line 2\)/);
  });

  it('supports anchors, aliases and << merge keys within a file', () => {
    const p = put('anchors.yaml', 'defaults: &d\n  depth: 50\n  width: 2\nname: a\nmodel:\n  <<: *d\n  width: 3\noptimizer:\n  lr: 1\n');
    const loose = Schema.extend({ defaults: z.unknown() });
    expect(loadConfigFile(p, loose).model).toEqual({ depth: 50, width: 3, tags: [] });
  });

  it('treats an empty file as an empty map', () => {
    const p = put('empty.yaml', '');
    expect(resolveConfigFile(p).value).toEqual({});
    expect(errorOf(() => loadConfigFile(p, Schema))).toMatch(/empty\.yaml: name: /);
  });
});

describe('layerConfig / overrideConfig / validateConfig', () => {
  // A file of diffs (an ablation's variants, say): the layers point into it.
  const DIFFS = 'variants:\n  - set:\n      model: { width: 2.5 }\n  - set:\n      model:\n        $replace: true\n        depth: 18\n        width: 0.5\n  - set: { model: { tags: [x] }, note: hi }\n';

  it('merges maps, replaces lists, scalars and null, and $replace replaces a whole map; inputs are not changed', () => {
    const base = resolveConfigFile(put('base.yaml', BASE));
    const diffs = resolveConfigFile(put('diffs.yaml', DIFFS), { extends: false });
    const set = (i: number): Record<string, unknown> => {
      const v = (diffs.value['variants'] as unknown[])[i];
      return isPlainObject(v) ? (v['set'] as Record<string, unknown>) : {};
    };
    const at = (i: number) => ({ in: diffs, at: ['variants', i, 'set'] });
    expect(layerConfig(base, set(0), at(0)).value['model']).toEqual({ depth: 50, width: 2.5, tags: ['a', 'b'] });
    expect(layerConfig(base, set(1), at(1)).value['model']).toEqual({ depth: 18, width: 0.5 });
    const third = layerConfig(base, set(2), at(2)).value;
    expect(third['model']).toEqual({ depth: 50, width: 1, tags: ['x'] });
    expect(third['note']).toBe('hi');
    expect(layerConfig(base, { model: null }, { source: 'test' }).value['model']).toBeNull();
    expect(layerConfig(base, undefined, { source: 'test' })).toBe(base);
    expect(base.value['model']).toEqual({ depth: 50, width: 1, tags: ['a', 'b'] }); // not mutated
    expect((set(1)['model'] as Record<string, unknown>)['$replace']).toBe(true);
  });

  it('locates every key at the layer that last set it: the diff file and line, a label, an override, or the base file', () => {
    const base = resolveConfigFile(put('base.yaml', BASE));
    const diffs = resolveConfigFile(put('diffs.yaml', DIFFS), { extends: false });
    const replaced = layerConfig(base, { model: { $replace: true, depth: 18, width: 0.5 } }, { in: diffs, at: ['variants', 1, 'set'] });
    expect(replaced.locate(['model', 'depth'])).toEqual({ source: expect.stringMatching(/diffs\.yaml$/), line: 7 });
    expect(replaced.locate(['model', 'tags']).source).toMatch(/diffs\.yaml$/); // replaced: no longer the base's
    expect(replaced.locate(['optimizer', 'lr'])).toEqual({ source: expect.stringMatching(/base\.yaml$/), line: 7 });
    expect(replaced.files.map((f) => f.split('/').pop())).toEqual(['base.yaml', 'diffs.yaml']);
    const labelled = layerConfig(replaced, { optimizer: { lr: 0.2 } }, { source: '--seeds' });
    expect(labelled.locate(['optimizer', 'lr'])).toEqual({ source: '--seeds' });
    const over = overrideConfig(labelled, ['model.depth=-1']);
    expect(over.locate(['model', 'depth'])).toEqual({ source: '--set model.depth=-1' });
    // a diff key not written in the file (made by code) is located at the diff itself
    expect(layerConfig(base, { note: 'x' }, { in: diffs, at: ['variants', 2, 'set'] }).locate(['note'])).toEqual({ source: expect.stringMatching(/diffs\.yaml$/), line: 9 });
  });

  it('validateConfig names each bad key with the file and line that set it, under the caller\'s header', () => {
    const base = resolveConfigFile(put('base.yaml', BASE));
    const diffs = resolveConfigFile(put('diffs.yaml', DIFFS), { extends: false });
    const bad = layerConfig(layerConfig(base, { model: { $replace: true, depth: 1.5, width: 0.5 } }, { in: diffs, at: ['variants', 1, 'set'] }), { optimizer: { lr: -1 } }, { source: 'a label' });
    const message = errorOf(() => validateConfig(bad, Schema, { what: 'run 3 of grid.yaml' }));
    expect(message).toMatch(/^Invalid run 3 of grid\.yaml \(2 issues\):\n  \S*diffs\.yaml: model\.depth: [^\n]* \(line 7\)\n  a label: optimizer\.lr: [^\n]*$/);
    const good = validateConfig(layerConfig(base, { note: 'ok' }, { source: 'x' }), Schema);
    expect(good.note).toBe('ok');
    expect(Object.isFrozen(good)).toBe(true);
    expect(errorOf(() => validateConfig(resolveConfigFile(put('bad.yaml', 'name: 1\n'), {}), Schema))).toMatch(/^Invalid config \S*bad\.yaml \(\d+ issues?\):/);
    expect(() => layerConfig({ value: {}, files: [], locate: () => ({ source: '' }) }, {}, { source: 'x' })).toThrow(/not made by resolveConfigFile/);
  });

  it('extends: false reads a file alone, extends being an ordinary key', () => {
    put('base.yaml', BASE);
    const p = put('plain.yaml', 'extends: base.yaml\nname: plain\n');
    expect(resolveConfigFile(p, { extends: false }).value).toEqual({ extends: 'base.yaml', name: 'plain' });
    expect(resolveConfigFile(p).value['model']).toEqual({ depth: 50, width: 1, tags: ['a', 'b'] });
  });
});

describe('formatConfigPath', () => {
  it('formats keys and indices', () => {
    expect(formatConfigPath(['losses', 0, 'weight'])).toBe('losses[0].weight');
    expect(formatConfigPath([])).toBe('(root)');
  });
});
