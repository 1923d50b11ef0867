export * from "./jsonl.js";
export * from "./questions.js";
export * from "./answers.js";
export * from "./judge-prompts.js";
export * from "./vicuna-review-prompts.js";
