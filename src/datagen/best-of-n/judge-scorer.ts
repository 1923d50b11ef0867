import { UpstreamError } from "../../errors/index.js";
import { contentHash } from "../../hashing/content-hash.js";
import type { LanguageModel } from "../../spec/index.js";
import type { JudgePrompt } from "../../eval/data/judge-prompts.js";
import { singleGradingMessages } from "../../eval/judge/judge-messages.js";
import { callJudge, type JudgeCallOptions } from "../../eval/run/judge-call.js";
import { parseSingleRating, type VerdictRules } from "../../eval/verdicts/single-rating.js";
import type { AnswerScore, AnswerScorer } from "./answer-scorer.js";

/**
 * An LLM judge as a scorer: FastChat's single-answer grading (the prompt's "[[rating]]", read by
 * llm_judge's rules), one call per answer at the judge's temperature 0. A judgment without a rating is
 * no score; a judge call that failed after its retries ($ERROR$) is a failed request, so the prompt is
 * counted as failed and retried by the next run instead of losing the answer for good.
 */
export class JudgeScorer implements AnswerScorer {
  readonly name: string;
  readonly fingerprint: string;

  constructor(
    private readonly judge: LanguageModel,
    private readonly prompt: JudgePrompt,
    private readonly options: { call?: JudgeCallOptions; verdictRules?: VerdictRules } = {},
  ) {
    this.name = `judge:${judge.modelId}/${prompt.name}`;
    this.fingerprint = contentHash({ judge: judge.modelId, prompt, call: { temperature: options.call?.temperature, maxTokens: options.call?.maxTokens }, rules: options.verdictRules ?? "fastchat" });
  }

  async score(prompt: string, answer: string, signal?: AbortSignal): Promise<AnswerScore> {
    const { messages } = singleGradingMessages(this.prompt, { questionId: "", category: this.prompt.category, turns: [prompt] }, { questionId: "", modelId: "", turns: [answer] }, 1);
    const result = await callJudge(this.judge, messages, { ...this.options.call, ...(signal ? { abortSignal: signal } : {}) });
    const parsed = parseSingleRating(result.text, this.options.verdictRules);
    if (parsed.kind === "score") return { kind: "score", score: parsed.score };
    if (parsed.kind === "error") throw new UpstreamError(`the judge ${this.judge.modelId} failed after ${result.attempts} attempts: ${result.error ?? "no reply"}`);
    return { kind: "unscored", reason: parsed.reason };
  }
}
