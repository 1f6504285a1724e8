/**
 * Camera / viewpoint side-information embedding (CV, Table IV last row). The paper names CV but not its
 * mechanism; this is the SIE scheme of TransReID: learnable tables looked up per sample and added to the
 * feature, `T ← T + λ·(E_cam[c] + E_view[v])`.
 *
 * Rows are gathered as `oneHot(ids) · table` (a matMul) rather than `tf.gather`, because the gather
 * gradient (UnsortedSegmentSum) is missing on the wasm backend.
 * Tensors: `camera` [numCameras, dim], `view` [numViews, dim] (each only when it has rows).
 */
import { hostValues, Module, normalArray, tf, type Rng } from '@clip-senet/core';
import type { CameraViewConfig } from './config';

/** Side information of a batch: integer camera and/or view ids, each [N]. */
export interface SideInfo {
  readonly cameraIds?: tf.Tensor1D;
  readonly viewIds?: tf.Tensor1D;
}

/** Inputs of {@link CameraViewEmbedding.forward}: the feature to enrich plus the ids. */
export interface CameraViewInputs extends SideInfo {
  readonly features: tf.Tensor2D;
}

/** The CV embedding over features of width `dim`. */
export class CameraViewEmbedding extends Module {
  readonly dim: number;
  readonly numCameras: number;
  readonly numViews: number;
  readonly scale: number;

  /** `opts`: the feature width plus a validated camera / view config (constructors never parse). */
  constructor(opts: CameraViewConfig & { readonly dim: number }, rng: Rng) {
    super();
    const { dim, ...c } = opts;
    this.dim = dim;
    this.numCameras = c.numCameras;
    this.numViews = c.numViews;
    this.scale = c.scale;
    if (c.numCameras > 0) this.addParam('camera', normalArray(c.numCameras * dim, rng, c.initStd), [c.numCameras, dim]);
    if (c.numViews > 0) this.addParam('view', normalArray(c.numViews * dim, rng, c.initStd), [c.numViews, dim]);
  }

  /** Id tensors already checked (a flip-TTA forward passes the same ids twice; on webgpu they are on the GPU by then). */
  private readonly checked = new WeakSet<tf.Tensor>();

  /**
   * Every id an integer in [0, rows), read without a GPU round trip: ids made from host data (as the engine's
   * batches are) are checked before their first use; ids that only exist on a GPU cannot be checked synchronously
   * and are refused rather than looked up unchecked (an out-of-range id would silently add a zero row).
   */
  private checkIds(table: string, ids: tf.Tensor1D, rows: number): void {
    if (this.checked.has(ids)) return;
    const values = hostValues(ids);
    if (values === undefined) {
      throw new Error(`CameraViewEmbedding: the ${table}Ids tensor lives on the GPU and cannot be checked; make it from host ids (tf.tensor1d(ids, 'int32'))`);
    }
    const bad = Array.from(values as ArrayLike<number>).find((id) => !Number.isInteger(id) || id < 0 || id >= rows);
    if (bad !== undefined) throw new Error(`CameraViewEmbedding: ${table} id ${bad} is outside [0, ${rows})`);
    this.checked.add(ids);
  }

  /** `features + scale·(E_cam[cameraIds] + E_view[viewIds])`, [N, dim]. Ids are required for every table. */
  forward(inputs: CameraViewInputs): tf.Tensor2D {
    const { features, cameraIds, viewIds } = inputs;
    const n = features.shape[0];
    const lookups: Array<[string, tf.Tensor1D | undefined, number]> = [
      ['camera', cameraIds, this.numCameras],
      ['view', viewIds, this.numViews],
    ];
    for (const [table, ids, rows] of lookups) {
      if (rows === 0) continue;
      if (!ids) throw new Error(`CameraViewEmbedding: a ${table} table is configured but no ${table}Ids were given`);
      if (ids.rank !== 1 || ids.shape[0] !== n) throw new Error(`CameraViewEmbedding: ${table}Ids must be [${n}], got [${ids.shape}]`);
      this.checkIds(table, ids, rows);
    }
    return tf.tidy(() => {
      let side: tf.Tensor | null = null;
      for (const [table, ids, rows] of lookups) {
        if (rows === 0) continue;
        const hot = tf.oneHot(tf.cast(ids!, 'int32'), rows); // [N] → [N, rows]
        const e = tf.matMul(tf.cast(hot, 'float32') as tf.Tensor2D, this.t(table) as tf.Tensor2D); // [N, dim]
        side = side ? tf.add(side, e) : e;
      }
      return (side ? tf.add(features, tf.mul(side, this.scale)) : tf.clone(features)) as tf.Tensor2D;
    });
  }
}
