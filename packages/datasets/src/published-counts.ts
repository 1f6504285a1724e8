/**
 * Published split sizes of VeRi-776, VehicleID and VeRi-Wild (PROTOCOLS.md, "Counts"), and the check that
 * compares on-disk counts with them: a mismatch is a warning by default (collected and printed once) and a
 * {@link DatasetCountError} with `strict: true`. Readers accept an `expectedCounts` override so miniature or
 * synthetic trees can be checked strictly against their own sizes.
 */
import { VEHICLEID_FACTS, VERI776_FACTS, VERIWILD_FACTS, VERIWILD_TEST_SIZES as FACT_VERIWILD_SIZES } from '@clip-senet/core/base';
import { DatasetCountError } from './errors';
import type { Sample } from './sample';

/** An expected count, or several accepted values (e.g. VeRi-776 train: 37,778 or 37,781 images). */
export type CountSpec = number | readonly number[];

/** Expected size of one split; an absent field is not checked. */
export interface SplitCounts {
  readonly images?: CountSpec;
  readonly ids?: CountSpec;
}

/** Expected sizes of a query/gallery dataset (VeRi-776, VeRi-Wild); absent fields are not checked. */
export interface QueryGalleryCounts {
  readonly train?: SplitCounts;
  readonly query?: SplitCounts;
  readonly gallery?: SplitCounts;
  /** Distinct cameras over all loaded samples. */
  readonly cameras?: CountSpec;
}

/** Expected sizes of VehicleID (train list and one test list); absent fields are not checked. */
export interface TrainTestCounts {
  readonly train?: SplitCounts;
  readonly test?: SplitCounts;
}

/** VeRi-776: 576 train ids, 200 test ids, 20 cameras (core's dataset facts). */
export const VERI776_COUNTS: QueryGalleryCounts = VERI776_FACTS;

/** VehicleID test list sizes (number of test identities). */
export type VehicleIDTestSize = (typeof VEHICLEID_FACTS.testSizes)[number];
export const VEHICLEID_TEST_SIZES: readonly VehicleIDTestSize[] = VEHICLEID_FACTS.testSizes;

/** VehicleID published counts for a test list (image counts are published for 800/1600/2400 only). */
export function vehicleIdCounts(testSize: VehicleIDTestSize): TrainTestCounts {
  const images = (VEHICLEID_FACTS.testImages as Partial<Record<VehicleIDTestSize, number>>)[testSize];
  return {
    train: VEHICLEID_FACTS.train,
    test: images === undefined ? { ids: testSize } : { images, ids: testSize },
  };
}

/** VeRi-Wild test sizes (Small, Medium, Large = number of query identities). */
export type VeRiWildTestSize = (typeof FACT_VERIWILD_SIZES)[number];
export const VERIWILD_TEST_SIZES: readonly VeRiWildTestSize[] = FACT_VERIWILD_SIZES;

/** VeRi-Wild published counts for a test size (query: one image per id; query images not in the gallery). */
export function veriWildCounts(testSize: VeRiWildTestSize): QueryGalleryCounts {
  const test = VERIWILD_FACTS.tests[testSize];
  return {
    train: VERIWILD_FACTS.train,
    query: { images: test.query, ids: testSize },
    gallery: { images: test.gallery, ids: testSize },
    cameras: VERIWILD_FACTS.cameras,
  };
}

/** Options shared by every reader for the count check. */
export interface CountCheckOptions {
  /** Throw a {@link DatasetCountError} on any count mismatch instead of warning. Default false. */
  readonly strict?: boolean;
  /** Receives each warning once (default `console.warn`). Warnings are also returned in `warnings`. */
  readonly onWarning?: (message: string) => void;
}

/** One quantity to compare. */
export interface CountRow {
  readonly what: string;
  readonly actual: number;
  readonly expected: CountSpec | undefined;
  /** Appended to the mismatch message (e.g. the first offending files). */
  readonly detail?: string;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/** Rows "<split> images" and "<split> ids" for one split. */
export function splitRows(split: string, samples: readonly Sample[], expected: SplitCounts | undefined): CountRow[] {
  return [
    { what: `${split} images`, actual: samples.length, expected: expected?.images },
    { what: `${split} ids`, actual: countDistinct(samples, (s) => s.vehicleId), expected: expected?.ids },
  ];
}

/** Number of distinct values of `key` over `samples`. */
export function countDistinct(samples: readonly Sample[], key: (s: Sample) => number): number {
  const seen = new Set<number>();
  for (const s of samples) seen.add(key(s));
  return seen.size;
}

/**
 * Compare counts; returns the warnings (empty when all match). With `strict`, throws instead.
 * Each warning is passed to `onWarning` exactly once.
 */
export function checkCounts(dataset: string, rows: readonly CountRow[], options: CountCheckOptions): string[] {
  const mismatches: string[] = [];
  for (const { what, actual, expected, detail } of rows) {
    if (expected === undefined) continue;
    const accepted = typeof expected === 'number' ? [expected] : expected;
    if (!accepted.includes(actual)) {
      mismatches.push(`${what}: ${fmt(actual)} on disk, expected ${accepted.map(fmt).join(' or ')}${detail === undefined ? '' : ` (${detail})`}`);
    }
  }
  if (mismatches.length === 0) return [];
  if (options.strict) throw new DatasetCountError(dataset, mismatches);
  const warnings = mismatches.map((m) => `${dataset}: ${m}`);
  const sink = options.onWarning ?? ((message: string) => console.warn(message));
  for (const w of warnings) sink(w);
  return warnings;
}

/**
 * Attach training labels 0..N−1 in ascending vehicle-id order (sorted, so every process agrees).
 * Returns new samples (input order kept) and N.
 */
export function relabelBySortedId(samples: readonly Sample[]): { samples: Sample[]; numIds: number } {
  const ids = [...new Set(samples.map((s) => s.vehicleId))].sort((a, b) => a - b);
  const labelOf = new Map(ids.map((id, i) => [id, i]));
  const relabelled = samples.map((s): Sample => {
    const label = labelOf.get(s.vehicleId)!;
    // explicit fields instead of a spread: this runs over 10⁵–10⁶ samples
    return s.viewId === undefined
      ? { path: s.path, vehicleId: s.vehicleId, cameraId: s.cameraId, label }
      : { path: s.path, vehicleId: s.vehicleId, cameraId: s.cameraId, label, viewId: s.viewId };
  });
  return { samples: relabelled, numIds: ids.length };
}
