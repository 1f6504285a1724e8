import { describe, expect, it } from 'vitest';
import { NORMALIZATION_STATS, VEHICLEID_FACTS, VERIWILD_FACTS, VERIWILD_TEST_SIZES, vehicleIdDraw } from './dataset-facts';
import { Rng } from './rng';

describe('dataset facts', () => {
  it('VehicleID draw: one gallery member per label, visited in ascending label order, the rest queries', () => {
    const ids = [7, 3, 7, 3, 3, 9, 7];
    const { query, gallery } = vehicleIdDraw(ids, 5);
    expect(gallery.map((i) => ids[i])).toEqual([3, 7, 9]);
    expect([...query, ...gallery].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // the pick is Rng(seed).int(group size) per label in ascending order, members in input order
    const rng = new Rng(5);
    const expected = [[1, 3, 4], [0, 2, 6], [5]].map((members) => members[rng.int(members.length)]);
    expect(gallery).toEqual(expected);
    expect(vehicleIdDraw(ids, 5)).toEqual({ query, gallery });
    expect(vehicleIdDraw(ids, 6)).not.toEqual({ query, gallery });
  });

  it('holds the published sizes every package reads', () => {
    expect(VERIWILD_TEST_SIZES.map((s) => VERIWILD_FACTS.tests[s].name)).toEqual(['small', 'medium', 'large']);
    expect(VERIWILD_FACTS.tests[10000].gallery).toBe(128517);
    expect(VEHICLEID_FACTS.testImages[2400]).toBe(19777);
    expect(NORMALIZATION_STATS.clip.mean[0]).toBe(0.48145466);
  });
});
