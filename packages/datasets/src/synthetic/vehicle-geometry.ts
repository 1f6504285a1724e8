/**
 * Synthetic vehicle world: body geometry per vehicle type, in metres (side profile: x from the rear bumper to
 * the front bumper, heights above the ground), plus the colour helpers the renderer shares.
 */
import type { VehicleDetails, VehicleType } from './world-spec';

/** Body layout of one vehicle type. Heights are above the ground; x runs rear → front. */
export interface Geometry {
  readonly kind: 'car' | 'pickup' | 'bus' | 'truck';
  /** Length and width. */
  readonly L: number;
  readonly W: number;
  readonly clearance: number;
  readonly wheelR: number;
  readonly wheelX: readonly [number, number];
  /** Height of the rear deck / tail and of the hood front. */
  readonly rearH: number;
  readonly frontH: number;
  /** Beltline (bottom of the side windows) and roof heights. */
  readonly belt: number;
  readonly roofH: number;
  /** Cabin outline x positions: rear pillar base, roof rear end, roof front end, windshield base. */
  readonly cabin: readonly [number, number, number, number];
}

export const GEOMETRY: Record<VehicleType, Geometry> = {
  sedan: { kind: 'car', L: 4.6, W: 1.8, clearance: 0.16, wheelR: 0.33, wheelX: [0.85, 3.75], rearH: 0.98, frontH: 0.82, belt: 0.98, roofH: 1.45, cabin: [1.05, 1.65, 2.95, 3.5] },
  suv: { kind: 'car', L: 4.7, W: 1.9, clearance: 0.24, wheelR: 0.38, wheelX: [0.9, 3.8], rearH: 1.1, frontH: 1.02, belt: 1.12, roofH: 1.8, cabin: [0.12, 0.3, 3.2, 3.7] },
  hatchback: { kind: 'car', L: 4.05, W: 1.75, clearance: 0.15, wheelR: 0.31, wheelX: [0.72, 3.3], rearH: 0.98, frontH: 0.84, belt: 0.98, roofH: 1.5, cabin: [0.12, 0.5, 2.55, 3.05] },
  van: { kind: 'car', L: 4.9, W: 1.95, clearance: 0.18, wheelR: 0.35, wheelX: [0.8, 4.0], rearH: 1.1, frontH: 1.05, belt: 1.1, roofH: 2.05, cabin: [0.03, 0.08, 4.0, 4.55] },
  pickup: { kind: 'pickup', L: 5.2, W: 1.9, clearance: 0.26, wheelR: 0.39, wheelX: [0.95, 4.15], rearH: 1.15, frontH: 1.1, belt: 1.15, roofH: 1.85, cabin: [2.0, 2.15, 3.4, 3.95] },
  bus: { kind: 'bus', L: 10.5, W: 2.5, clearance: 0.3, wheelR: 0.5, wheelX: [2.4, 8.7], rearH: 3.0, frontH: 3.0, belt: 1.35, roofH: 3.1, cabin: [0.3, 0.3, 10.2, 10.4] },
  truck: { kind: 'truck', L: 7.2, W: 2.4, clearance: 0.35, wheelR: 0.48, wheelX: [1.5, 6.0], rearH: 3.2, frontH: 1.5, belt: 1.55, roofH: 2.75, cabin: [5.3, 5.35, 6.5, 7.0] },
};

export type RGB = readonly [number, number, number];

/** CSS colour of `c` scaled by `k` (clamped), optionally with alpha. */
export function css(c: RGB, k = 1, alpha = 1): string {
  const f = (v: number): number => Math.max(0, Math.min(255, Math.round(v * k)));
  return alpha >= 1 ? `rgb(${f(c[0])},${f(c[1])},${f(c[2])})` : `rgba(${f(c[0])},${f(c[1])},${f(c[2])},${alpha})`;
}

/** Window glass colour for a tint level. */
export function glassColour(tint: VehicleDetails['tint']): RGB {
  return tint === 'none' ? [125, 158, 180] : tint === 'light' ? [72, 88, 104] : [22, 25, 31];
}

/** Bumper colour: body colour, black plastic or chrome. */
export function bumperColour(d: VehicleDetails, body: RGB): RGB {
  return d.bumper === 'body' ? body : d.bumper === 'black' ? [30, 30, 32] : [205, 208, 214];
}
