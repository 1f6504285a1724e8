/**
 * YAML + zod configuration loading (detectron2 / fast-reid style, STYLE.md "Config → objects in one place").
 *
 * Pipeline of {@link loadConfigFile}: parse YAML → resolve `extends` (relative to the extending file,
 * ≤ 2 levels, cycles rejected) by deep merge (maps merge, arrays and scalars replace) → apply
 * `--set a.b.c=value` overrides → validate with the caller's (strict) zod schema → deep-freeze.
 * Every error names the file and, where there is one, the line; validation issues are attributed to
 * the file (or override) that last set the offending key.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { LineCounter, isMap, isSeq, parse as parseYaml, parseDocument, stringify } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { markValidated } from './validated';

/** Recursively read-only view of a value (what {@link deepFreeze} returns). */
export type DeepReadonly<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends ArrayBufferView
    ? T
    : T extends readonly (infer U)[]
      ? readonly DeepReadonly<U>[]
      : T extends object
        ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
        : T;

/** A parsed `--set key.path=value` override. */
export interface ConfigOverride {
  /** Key path, e.g. `['optimizer', 'lr']`. */
  readonly path: readonly string[];
  /** Value parsed as a YAML scalar or flow collection. */
  readonly value: unknown;
  /** The original `key.path=value` text (used in error messages). */
  readonly text: string;
}

/** Options of {@link loadConfigFile} / {@link resolveConfigFile}. */
export interface LoadConfigOptions {
  /** `key.path=value` overrides applied after `extends` resolution, in order (later wins). */
  readonly overrides?: readonly string[];
  /**
   * Whether a top-level `extends` names base files to layer under this one (default true). False reads the file
   * alone, `extends` being an ordinary key (files that are not experiment configs, e.g. ablation definitions).
   */
  readonly extends?: boolean;
}

/**
 * Un-validated result of {@link resolveConfigFile}, {@link overrideConfig} and {@link layerConfig}: a config value
 * that knows where each of its keys was set (file and line, or the override).
 */
export interface ResolvedConfig {
  /** The merged, overridden plain object (not yet validated, not frozen). */
  readonly value: Record<string, unknown>;
  /** Every file that contributed, in merge order (bases first, the requested file last). */
  readonly files: readonly string[];
  /** Where the value at `path` (or its nearest set ancestor) came from. */
  locate(path: readonly PropertyKey[]): ConfigOrigin;
}

/**
 * Where the keys of a {@link layerConfig} diff were written: inside a config read with provenance (`in`, at key path
 * `at`, e.g. an ablation file's `variants[2].set`), or a plain label (`source`, e.g. `--seeds`).
 */
export type ConfigLayerSource = { readonly in: ResolvedConfig; readonly at: readonly PropertyKey[] } | { readonly source: string };

/** Options of {@link validateConfig}. */
export interface ValidateConfigOptions {
  /** What the error's header calls the config: `Invalid <what> (n issues):`. Default `config <the root file>`. */
  readonly what?: string;
}

/**
 * Marker key of a {@link layerConfig} diff map that replaces the map below it instead of merging into it
 * (`fusion: { $replace: true, name: sum, outDim: 8 }` switches to a variant with other keys).
 */
export const REPLACE_KEY = '$replace';

/** Source location of a config value. */
export interface ConfigOrigin {
  /** File path for display, or `--set a.b=c` for overrides. */
  readonly source: string;
  /** 1-based line, when the value came from a file. */
  readonly line?: number;
  /** Set when `path` itself is absent: the nearest ancestor that exists. */
  readonly ancestor?: readonly string[];
}

/** Maximum `extends` depth: a file may extend a base that extends another base, no deeper. */
export const MAX_EXTENDS_DEPTH = 2;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** True for `{}`-style objects (not arrays, null, typed arrays, class instances). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Deep merge for config layering: plain-object maps merge recursively; arrays, scalars and `null` in
 * `b` replace what is in `a`; keys only in `a` are kept. Inputs are not mutated (merged maps are new
 * objects; replaced leaves and arrays are taken from `b` by reference). Key order: `a`'s, then new keys of `b`.
 */
export function deepMerge<A, B>(a: A, b: B): A & B;
export function deepMerge(a: unknown, b: unknown): unknown {
  if (!isPlainObject(a) || !isPlainObject(b)) return b === undefined ? a : b;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) setOwn(out, k, v);
  for (const [k, v] of Object.entries(b)) setOwn(out, k, k in out ? deepMerge(out[k], v) : v);
  return out;
}

/** Recursively `Object.freeze` plain objects and arrays (typed arrays are left as they are). Returns `value`. */
export function deepFreeze<T>(value: T): DeepReadonly<T> {
  if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value as DeepReadonly<T>;
}

/** Parse `key.path=value` strings (value read as a YAML scalar/flow: `3`, `true`, `[1,2]`, `null`, `'x y'`). */
export function parseOverrides(list: readonly string[]): ConfigOverride[] {
  return list.map((text) => {
    const eq = text.indexOf('=');
    const bad = (why: string): Error =>
      new Error(`Invalid override '--set ${text}': ${why} (expected key.path=value, e.g. optimizer.lr=0.001)`);
    if (eq <= 0) throw bad('missing "key.path="');
    const path = text.slice(0, eq).trim().split('.');
    if (path.some((p) => p === '')) throw bad('empty key segment');
    const forbidden = path.find((p) => FORBIDDEN_KEYS.has(p));
    if (forbidden !== undefined) throw bad(`key '${forbidden}' is not allowed`);
    const raw = text.slice(eq + 1);
    if (raw.trim() === '') throw bad("empty value (write null or '' explicitly)");
    let value: unknown;
    try {
      value = parseYaml(raw);
    } catch (err) {
      throw bad(`value is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    return { path, value, text };
  });
}

/**
 * Apply overrides to a config object, returning a new object (the input is not mutated). Missing
 * intermediate maps are created; a path through a non-map (scalar, array, null) is an error.
 */
export function applyOverrides(
  obj: Record<string, unknown>,
  overrides: readonly ConfigOverride[] | readonly string[],
): Record<string, unknown> {
  const parsed = overrides.map((o) => (typeof o === 'string' ? parseOverrides([o])[0]! : o));
  let out = obj;
  for (const o of parsed) out = setPath(out, o, 0);
  return out;
}

function setPath(node: Record<string, unknown>, o: ConfigOverride, depth: number): Record<string, unknown> {
  const key = o.path[depth]!;
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) setOwn(copy, k, v);
  if (depth === o.path.length - 1) {
    setOwn(copy, key, o.value);
    return copy;
  }
  const child = Object.hasOwn(node, key) ? node[key] : {};
  if (!isPlainObject(child)) {
    const where = o.path.slice(0, depth + 1).join('.');
    throw new Error(
      `Cannot apply override '--set ${o.text}': '${where}' is ${describe(child)}, not a map ` +
        `(set '${where}' itself instead)`,
    );
  }
  setOwn(copy, key, setPath(child, o, depth + 1));
  return copy;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list (${JSON.stringify(value)})`;
  return `a ${typeof value} (${JSON.stringify(value)})`;
}

/** YAML text of a config (keys in insertion order, no anchors/aliases, no line folding). */
export function stringifyConfig(obj: unknown): string {
  return stringify(obj, { aliasDuplicateObjects: false, lineWidth: 0, sortMapEntries: false });
}

// ---------------------------------------------------------------------------------------------------
// Reading files with provenance

type Origins = Map<string, ConfigOrigin>;
interface Tracked {
  value: Record<string, unknown>;
  origins: Origins;
  files: string[];
}

const keyOf = (path: readonly PropertyKey[]): string => path.map(String).join('\u0000');

function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** Record the line of every key / list item of a YAML document, keyed by path. */
function collectLines(node: unknown, path: string[], lc: LineCounter, file: string, out: Origins): void {
  const at = (n: unknown): number | undefined => {
    const range = (n as YamlNode | null)?.range;
    return range ? lc.linePos(range[0]).line : undefined;
  };
  if (isMap(node)) {
    for (const pair of node.items) {
      const k = String((pair.key as { value?: unknown } | null)?.value ?? pair.key);
      if (k === '<<') continue; // YAML merge key: its values are attributed to the anchor's lines
      out.set(keyOf([...path, k]), { source: file, line: at(pair.key) });
      collectLines(pair.value, [...path, k], lc, file, out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      out.set(keyOf([...path, String(i)]), { source: file, line: at(item) });
      collectLines(item, [...path, String(i)], lc, file, out);
    });
  }
}

function readYamlFile(path: string, from: string | undefined): { value: Record<string, unknown>; origins: Origins } {
  const shown = display(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const via = from === undefined ? '' : ` (extended from ${from})`;
    throw new Error(`Cannot read config file ${shown}${via}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true, merge: true });
  const error = doc.errors[0];
  if (error !== undefined) {
    const pos = error.linePos?.[0];
    const where = pos ? `${shown}:${pos.line}:${pos.col}` : shown;
    throw new Error(`${where}: invalid YAML: ${error.message}`);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 }) ?? {};
  } catch (err) {
    throw new Error(`${shown}: invalid YAML: ${(err as Error).message}`);
  }
  if (!isPlainObject(value)) throw new Error(`${shown}: expected a YAML mapping at the top level, got ${describe(value)}`);
  const origins: Origins = new Map();
  collectLines(doc.contents, [], lineCounter, shown, origins);
  return { value, origins };
}

/** Copy origins of `b`'s subtree at `path` into `out`, replacing whatever was under `path`. */
function replaceSubtree(out: Origins, from: Origins, path: string[]): void {
  const k = keyOf(path);
  for (const key of [...out.keys()]) if (key === k || key.startsWith(`${k}\u0000`)) out.delete(key);
  for (const [key, o] of from) if (key === k || key.startsWith(`${k}\u0000`)) out.set(key, o);
}

function mergeOrigins(a: unknown, b: Record<string, unknown>, path: string[], out: Origins, from: Origins): void {
  for (const [k, v] of Object.entries(b)) {
    const p = [...path, k];
    const prev = isPlainObject(a) ? a[k] : undefined;
    if (isPlainObject(prev) && isPlainObject(v)) {
      const own = from.get(keyOf(p));
      if (own) out.set(keyOf(p), own);
      mergeOrigins(prev, v, p, out, from);
    } else {
      replaceSubtree(out, from, p);
    }
  }
}

function mergeTracked(a: Tracked, b: Tracked): Tracked {
  const origins = new Map(a.origins);
  mergeOrigins(a.value, b.value, [], origins, b.origins);
  return { value: deepMerge(a.value, b.value), origins, files: [...a.files, ...b.files] };
}

function extendsList(value: Record<string, unknown>, shown: string): string[] {
  const ext = value['extends'];
  if (ext === undefined || ext === null) return [];
  const list = Array.isArray(ext) ? ext : [ext];
  if (list.some((e) => typeof e !== 'string' || e.trim() === '')) {
    throw new Error(`${shown}: 'extends' must be a file path or a list of file paths, got ${JSON.stringify(ext)}`);
  }
  return list as string[];
}

function resolveTracked(file: string, chain: readonly string[]): Tracked {
  const abs = resolve(file);
  const names = [...chain, abs].map(display);
  if (chain.includes(abs)) throw new Error(`Config 'extends' cycle: ${names.join(' → ')}`);
  if (chain.length > MAX_EXTENDS_DEPTH) {
    throw new Error(`Config 'extends' chain too deep (at most ${MAX_EXTENDS_DEPTH} levels): ${names.join(' → ')}`);
  }
  const own = readYamlFile(abs, chain.length > 0 ? display(chain[chain.length - 1]!) : undefined);
  const bases = extendsList(own.value, display(abs));
  const { extends: _drop, ...rest } = own.value;
  for (const key of [...own.origins.keys()]) if (key.split('\u0000')[0] === 'extends') own.origins.delete(key);
  let acc: Tracked = { value: {}, origins: new Map(), files: [] };
  for (const base of bases) acc = mergeTracked(acc, resolveTracked(resolve(dirname(abs), base), [...chain, abs]));
  return mergeTracked(acc, { value: rest, origins: own.origins, files: [display(abs)] });
}

/** The provenance behind each {@link ResolvedConfig} this module made. */
const provenance = new WeakMap<ResolvedConfig, { readonly tracked: Tracked; readonly root: string }>();

function makeResolved(tracked: Tracked, root: string): ResolvedConfig {
  const { value, files, origins } = tracked;
  const resolved: ResolvedConfig = { value, files, locate: (p) => locateIn(origins, root, p) };
  provenance.set(resolved, { tracked, root });
  return resolved;
}

function provenanceOf(resolved: ResolvedConfig, fn: string): { readonly tracked: Tracked; readonly root: string } {
  const p = provenance.get(resolved);
  if (p === undefined) throw new TypeError(`${fn}: the config was not made by resolveConfigFile, overrideConfig or layerConfig`);
  return p;
}

function locateIn(origins: Origins, root: string, path: readonly PropertyKey[]): ConfigOrigin {
  const exact = origins.get(keyOf(path));
  if (exact) return exact;
  for (let n = path.length - 1; n > 0; n--) {
    const o = origins.get(keyOf(path.slice(0, n)));
    if (o) return { ...o, ancestor: path.slice(0, n).map(String) };
  }
  return { source: root };
}

/** Read a config file, resolve `extends` and apply overrides, without schema validation. */
export function resolveConfigFile(path: string, options: LoadConfigOptions = {}): ResolvedConfig {
  let tracked: Tracked;
  if (options.extends ?? true) {
    tracked = resolveTracked(path, []);
  } else {
    const abs = resolve(path);
    tracked = { ...readYamlFile(abs, undefined), files: [display(abs)] };
  }
  return overrideConfig(makeResolved(tracked, display(resolve(path))), options.overrides ?? []);
}

/** Apply `key.path=value` overrides to a resolved config; each key they set is located at `--set <override>`. */
export function overrideConfig(config: ResolvedConfig, overrides: readonly ConfigOverride[] | readonly string[]): ResolvedConfig {
  const { root } = provenanceOf(config, 'overrideConfig');
  let t = provenanceOf(config, 'overrideConfig').tracked;
  for (const o of overrides.map((x) => (typeof x === 'string' ? parseOverrides([x])[0]! : x))) {
    const value = applyOverrides(t.value, [o]);
    const origins = new Map(t.origins);
    const origin: ConfigOrigin = { source: `--set ${o.text}` };
    replaceSubtree(origins, new Map(), [...o.path]);
    for (let n = 1; n <= o.path.length; n++) {
      const k = keyOf(o.path.slice(0, n));
      if (n === o.path.length || !origins.has(k)) origins.set(k, origin);
    }
    t = { value, origins, files: t.files };
  }
  return makeResolved(t, root);
}

/**
 * Layer a config diff over a resolved config (an ablation's `set`, a variant's diff): maps merge recursively; lists,
 * scalars and `null` replace; a map written with `$replace: true` ({@link REPLACE_KEY}) replaces the whole map below
 * it. Every key the diff sets is located where `from` says it was written, so a validation error names that file
 * and line. Neither input is changed.
 */
export function layerConfig(config: ResolvedConfig, diff: Readonly<Record<string, unknown>> | undefined, from: ConfigLayerSource): ResolvedConfig {
  const { tracked, root } = provenanceOf(config, 'layerConfig');
  if (diff === undefined) return config;
  let originOf: (path: readonly string[]) => ConfigOrigin;
  let files = tracked.files;
  if ('in' in from) {
    const src = provenanceOf(from.in, 'layerConfig');
    const at = from.at.map(String);
    const own = src.tracked.origins.get(keyOf(at));
    originOf = (path) => {
      const o = src.tracked.origins.get(keyOf([...at, ...path])) ?? own;
      return o ? { source: o.source, ...(o.line !== undefined ? { line: o.line } : {}) } : { source: src.root };
    };
    files = [...files, ...src.tracked.files.filter((f) => !files.includes(f))];
  } else {
    const origin: ConfigOrigin = { source: from.source };
    originOf = () => origin;
  }
  const origins = new Map(tracked.origins);
  const value = layerValue(tracked.value, diff, [], origins, originOf) as Record<string, unknown>;
  return makeResolved({ value, origins, files }, root);
}

function layerValue(below: unknown, diff: unknown, path: string[], origins: Origins, originOf: (path: readonly string[]) => ConfigOrigin): unknown {
  let over = diff;
  let merge = isPlainObject(below);
  if (isPlainObject(diff) && diff[REPLACE_KEY] === true) {
    const { [REPLACE_KEY]: _marker, ...rest } = diff;
    over = rest;
    merge = false;
  }
  if (!isPlainObject(over)) {
    stampOrigins(over, path, origins, originOf);
    return over;
  }
  if (!merge) {
    stampOrigins({}, path, origins, originOf);
  } else if (path.length > 0 && !origins.has(keyOf(path))) {
    origins.set(keyOf(path), originOf(path));
  }
  const out: Record<string, unknown> = {};
  if (merge) for (const [k, v] of Object.entries(below as Record<string, unknown>)) setOwn(out, k, v);
  for (const [k, v] of Object.entries(over)) setOwn(out, k, layerValue(Object.hasOwn(out, k) ? out[k] : undefined, v, [...path, k], origins, originOf));
  return out;
}

/** Locate `path` and everything under `value` (its keys, list items) at `originOf`, dropping what was there. */
function stampOrigins(value: unknown, path: string[], origins: Origins, originOf: (path: readonly string[]) => ConfigOrigin): void {
  replaceSubtree(origins, new Map(), path);
  const walk = (v: unknown, p: string[]): void => {
    if (p.length > 0) origins.set(keyOf(p), originOf(p));
    if (Array.isArray(v)) v.forEach((item, i) => walk(item, [...p, String(i)]));
    else if (isPlainObject(v)) for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
  };
  walk(value, path);
}

/** Format a key path for messages: `losses[0].weight`. */
export function formatConfigPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

function formatIssue(resolved: ResolvedConfig, path: readonly PropertyKey[], message: string): string {
  const o = resolved.locate(path);
  let where = '';
  if (o.ancestor !== undefined) where = ` (under '${o.ancestor.join('.')}'${o.line ? ` at line ${o.line}` : ''})`;
  else if (o.line !== undefined) where = ` (line ${o.line})`;
  return `${o.source}: ${formatConfigPath(path)}: ${message}${where}`;
}

function issueLines(resolved: ResolvedConfig, issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) lines.push(formatIssue(resolved, [...issue.path, k], 'unknown key (not in the schema)'));
    } else {
      lines.push(formatIssue(resolved, issue.path, issue.message));
    }
  }
  return lines;
}

/**
 * Validate a resolved config with `schema` and freeze it (marked validated: builders downstream take it without
 * parsing again).
 *
 * @throws Error listing every validation issue as `file: path.to.key: message (line N)` — the file (or override)
 *   that last set the offending key, as {@link ResolvedConfig.locate} finds it.
 */
export function validateConfig<S extends z.ZodType>(config: ResolvedConfig, schema: S, options: ValidateConfigOptions = {}): DeepReadonly<z.output<S>> {
  const { root } = provenanceOf(config, 'validateConfig');
  const result = schema.safeParse(config.value);
  if (!result.success) {
    const lines = issueLines(config, result.error.issues);
    const n = lines.length;
    throw new Error(`Invalid ${options.what ?? `config ${root}`} (${n} issue${n === 1 ? '' : 's'}):\n  ${lines.join('\n  ')}`);
  }
  return markValidated(result.data as z.output<S>) as DeepReadonly<z.output<S>>;
}

/**
 * Load, layer, override, validate and freeze a YAML config.
 *
 * @param path - YAML file; may contain `extends: base.yaml` or `extends: [a.yaml, b.yaml]` (relative to it).
 * @param schema - zod schema (use strict objects so unknown keys are errors).
 * @param options - `overrides`: `key.path=value` strings applied after `extends`.
 * @returns the schema's output, deep-frozen and marked validated (builders downstream take it without parsing again).
 * @throws Error naming file and line for I/O, YAML syntax, `extends` and override problems; one Error
 *   listing every validation issue as `file: path.to.key: message (line N)`.
 */
export function loadConfigFile<S extends z.ZodType>(
  path: string,
  schema: S,
  options: LoadConfigOptions = {},
): DeepReadonly<z.output<S>> {
  return validateConfig(resolveConfigFile(path, options), schema);
}
