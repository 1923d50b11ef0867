// Evaluation: answer generation, judges, verdict parsing, ratings, reports and charts, and
// log-likelihood benchmarks. Models come in through the LanguageModel interface; eval never builds one.
export * from "./ratings/index.js";
export * from "./verdicts/index.js";
export * from "./data/index.js";
export * from "./charts/index.js";
export { generateAnswers, type AnswerRunOptions, type AnswerRunSummary, type AnswerRow } from "./answer/generate-answers.js";
export { mtBenchTemperatures, defaultAnswerTemperature, temperatureForCategory } from "./answer/temperatures.js";
export { runJudge, type JudgeMode, type JudgeRunOptions, type JudgeRunSummary } from "./judge/run-judge.js";
export * from "./judge/judgment-rows.js";
export { singleGradingMessages, pairwiseMessages, vicunaReviewMessages } from "./judge/judge-messages.js";
export { callJudge, type JudgeCallOptions, type JudgeCallResult } from "./run/judge-call.js";
export { runWithConcurrency } from "./run/worker-pool.js";
export { formatProgress, formatDuration, type ProgressListener, type ProgressUpdate } from "./run/progress.js";
export * from "./report/single-results.js";
export * from "./report/pairwise-results.js";
export * from "./report/vicuna-results.js";
export * from "./report/build-reports.js";
export * from "./report/report-charts.js";
export * from "./report/tables.js";
export { loadJudgmentFile, type JudgmentFile } from "./report/load-judgments.js";
export { computePerplexity, type PerplexityOptions, type PerplexityResult } from "./likelihood/perplexity.js";
export * from "./likelihood/multiple-choice.js";
export * from "./report/ratings-charts.js";
export * from "./report/question-categories.js";
