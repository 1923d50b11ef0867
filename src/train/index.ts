// camelid/train: datasets → token ids + loss masks, the LoRA training loop, checkpoints, adapter/merged export.
export { runTraining, runFiles, type TrainingRunHooks, type TrainingRunResult } from "./run-training.js";
export { dpoSettingsOf, parseTrainingConfig, settingsFreeOnResume, trainingConfigSchema, trainingFlags, type TrainingConfig, type TrainingConfigInput, type TrainingFlag, type TrainingSetting } from "./train-config.js";
export { checkResumedSettings, flagLayer, mergeSettings, readRecipeFile, recipeOf, recipeYaml, resolveSettingsLayers, validateSettings, type MergedSettings, type SettingsLayer } from "./recipe.js";
export { readTrainingDataset, trainingDataFormats, type TrainingDataFormat, type TrainingDataset, type TrainingExample } from "./dataset.js";
export { renderTrainingExample, type SpecialTokenTexts } from "./render-example.js";
export { labelledSegments, tokenizeSegments, type SegmentTokenization, type TokenizedConversation } from "./segment-tokens.js";
export { loadGgufTokenizer, type TrainingTokenizer } from "./tokenizer.js";
export {
  prepareTrainingData,
  dataProblemsJsonl,
  validationSplit,
  shuffledIndices,
  truncationPolicies,
  mismatchPolicies,
  type MismatchPolicy,
  type DataPreparationOptions,
  type PreparedData,
  type SampleProblem,
  type TrainingRow,
  type TruncationPolicy,
} from "./prepare-data.js";
export { detectPreferenceFormat, preferenceDataFormats, readPreferencePairs, type PreferenceDataFormat, type PreferenceExample, type PreferenceRows } from "./preference-rows.js";
export { tokenizePreferencePairs, type PreparedPreferences, type PreferenceTokenOptions, type TokenizedPreferencePair } from "./preference-tokens.js";
export { preparePreferenceData, type PreferenceDataOptions, type PreparedPreferenceData } from "./preference-data.js";
export { allocateBatch, fillBatch, RowSchedule, type BatchBuffers } from "./batches.js";
export { learningRateAt, type LearningRateSchedule } from "./schedule.js";
export { runTrainingLoop, sftObjective, validate, validationLine, type LoopFiles, type LoopInput, type LoopSettings, type LoopSummary, type MicroBatchResult, type TrainingObjective, type ValidationFigures, type ValidationResult } from "./training-loop.js";
export { dpoLoss, dpoMetricNames, logSigmoid, type DpoLossResult, type DpoMetrics, type PairLogProbs } from "./dpo-loss.js";
export { allocatePairBatch, dpoMicroBatch, dpoObjective, fillPairBatch, pairLogProbs, pairSequenceLength } from "./dpo-objective.js";
export { loadCheckpoint, saveCheckpoint, type CheckpointState } from "./checkpoint.js";
export { MetricsLog, metricRecordSchema, type MetricRecord } from "./metrics-log.js";
export { lossChartSvg, niceTicks } from "./loss-chart.js";
export { progressLine, type ProgressState } from "./progress.js";
export { formatDuration } from "../progress/progress.js";
export { writeFileAtomic } from "../files/atomic-write.js";
export { adapterMetadata, adapterTensors, checkAdapter, writeLoraAdapterGguf, type AdapterExportInfo } from "./adapter-export.js";
export { mergePairInto, mergedTensorType, mergedTypes, writeMergedGguf, type MergedType } from "./merged-export.js";
export { axolotlRecipe, recipeDatasetJsonl, recipeTargets, trlRecipe, writeRecipe, type RecipeFiles, type RecipeSettings, type RecipeTarget } from "./export-recipes.js";
export { recipeChatTemplates, withoutGenerationMarkers } from "./recipe-templates.js";
export { AdapterExportError, CheckpointError, TrainingDivergedError, TrainingInterruptedError, TrainingRecipeError } from "./errors.js";
export { writeAdapterFromCheckpoint } from "./checkpoint-adapter.js";
