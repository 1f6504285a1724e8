/**
 * The record every dataset reader, generator and loader in this package exchanges.
 */

/** One image of a re-identification dataset. */
export interface Sample {
  /** Absolute path of the image file. */
  readonly path: string;
  /** Global vehicle identity as given by the dataset (not relabelled). */
  readonly vehicleId: number;
  /** Camera index, 0-based (VeRi-776 `c001` → 0). VehicleID has no cameras: -1. */
  readonly cameraId: number;
  /** Contiguous training label 0..N−1 (sorted vehicle-id order); only on training samples. */
  readonly label?: number;
  /** Viewpoint index (e.g. VeRi-776 keypoint views 0..7) when a view label file was supplied. */
  readonly viewId?: number;
}
