/**
 * @clip-senet/engine for the browser: CLIP-SENet model assembly (`assembleModel`: the architecture and its initial
 * weights; a page then restores a trained run's parameters), the batch → model-inputs glue and the ranked lists.
 * Training, checkpoints, evaluation over files, pretrained-weight loading (`buildModel`) and the data-parallel
 * workers read files or start worker threads and live in `./index` (Node).
 */

// model assembly
export { ClipSenetModel, assembleModel } from './model';
export type { ModelInputs, ModelOutputs, BuildModelOptions } from './model';
export { ModelConfigSchema, AppearanceConfigSchema, SemConfigSchema, NeckConfigSchema, BranchInputConfigSchema, defaultModelConfig } from './model-config';
export type { ModelConfig, ModelConfigInput, BranchInputConfig } from './model-config';
export { batchInputs, checkSideInfo } from './model-loss';

// ranked lists
export { rankedLists } from './ranked-lists';
export type { RankedQuery, RankedListsOptions } from './ranked-lists';
