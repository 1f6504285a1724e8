/**
 * Evaluation-only settings: the parts of an experiment config that change how a trained model is evaluated but not
 * how it is trained — the `eval` section (distance, AP mode, re-ranking, query expansion) and test-time flip
 * (`train.eval.flip`). Two configs that differ only there describe the same training, so an evaluation-only
 * ablation variant re-evaluates another run's checkpoint instead of training its own copy.
 */
import { isPlainObject } from '@clip-senet/core/base';

/** Config paths (dotted) an evaluation-only change may touch: the path itself or anything below it. */
export const EVAL_ONLY_PATHS: readonly string[] = ['eval', 'train.eval.flip'];

/** Whether `path` (dotted) is an evaluation-only setting. */
export function isEvalOnlyPath(path: string): boolean {
  return EVAL_ONLY_PATHS.some((p) => path === p || path.startsWith(`${p}.`));
}

/** Dotted paths where two parsed configs differ (leaves; a key present on one side only counts as a difference). */
export function differingPaths(a: unknown, b: unknown, prefix = ''): string[] {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => differingPaths(a[k], b[k], prefix === '' ? k : `${prefix}.${k}`));
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    return a.flatMap((x, i) => differingPaths(x, b[i], `${prefix}[${i}]`));
  }
  return Object.is(a, b) || JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix === '' ? '(root)' : prefix];
}

/** Paths where `evaluated` differs from `trained` outside the evaluation-only settings (empty: same training). */
export function trainingDifferences(trained: unknown, evaluated: unknown): string[] {
  return differingPaths(trained, evaluated).filter((p) => !isEvalOnlyPath(p));
}
