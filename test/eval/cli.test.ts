import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/commands/eval.js";
import { describeError } from "../../src/cli/main.js";
import { captureIo } from "../support/capture-io.js";
import { chatCompletionBody, errorBody, jsonReply, startFakeOpenAIServer, type FakeOpenAIServer } from "../support/fake-openai-server.js";
import { sharedPath } from "../support/shared-data.js";
import { temporaryDirectory } from "./fixtures.js";

const blog = (...parts: string[]) => sharedPath("eval", "vicuna_blog", ...parts);
let directory = temporaryDirectory();
afterEach(() => {
  directory.remove();
  directory = temporaryDirectory();
});

/** Runs `camelid eval …` as main() would: typed errors become one line and exit code 1. */
async function evalCli(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const capture = captureIo("", env);
  let code: number;
  try {
    code = await run(argv, capture.io);
  } catch (error) {
    capture.io.stderr(`camelid eval: ${describeError(error)}\n`);
    code = 1;
  }
  return { code, stdout: capture.stdout(), stderr: capture.stderr() };
}

/** The token limit a request asked for (OpenAI's flavor calls it max_completion_tokens on chat). */
const tokenLimit = (body: unknown) => {
  const b = body as { max_tokens?: number; max_completion_tokens?: number };
  return b.max_completion_tokens ?? b.max_tokens;
};

describe("eval show reproduces the published Vicuna evaluation", () => {
  it("prints the totals and win/tie/loss of llama-13b vs alpaca-13b from the review text", async () => {
    const charts = join(directory.path, "charts");
    const result = await evalCli(["show", "--vicuna-review", blog("review", "review_llama_alpaca-13b.jsonl"), "--answers", blog("answer"), "--questions", blog("question.jsonl"), "--output-format", "markdown", "--charts", charts]);
    expect(result.code).toBe(0);
    // Totals over 80 reviews: llama-13b 525, alpaca-13b 605 (86.8%); 19 wins, 1 tie, 60 losses for llama-13b.
    expect(result.stdout).toContain("| all | 80 | 525.0 | 605.0 | 86.8% | 19 | 1 | 60 |");
    expect(result.stdout).toContain("| math | 3 | 13.0 | 3.0 | 433.3% | 2 | 1 | 0 |");
    expect(result.stdout).toContain("77 first-line, 2 assistant-lines, 1 tuple");
    expect(result.stdout).toMatch(/one order only/);
    const radar = readFileSync(join(charts, "category-radar.svg"), "utf8");
    expect(radar).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(radar).toContain("counterfactual");
    expect(radar.match(/<polygon[^>]*fill-opacity/g)).toHaveLength(2);
    expect(existsSync(join(charts, "win-rate-bars.svg"))).toBe(true);
    const png = readFileSync(join(charts, "category-radar.png"));
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect(png.readUInt32BE(16)).toBe(1200);
    expect(existsSync(join(charts, "win-rate-bars.png"))).toBe(true);
  });

  it("gives the same numbers as JSON", async () => {
    const result = await evalCli(["show", "--vicuna-review", blog("review", "review_llama_alpaca-13b.jsonl"), "--questions", blog("question.jsonl"), "--output-format", "json"]);
    const parsed = JSON.parse(result.stdout);
    expect(parsed.results.overall).toEqual({ reviews: 80, scored: 80, total1: 525, total2: 605, win: 19, tie: 1, loss: 60, relativeScore: 525 / 605 });
    expect(parsed.results.model1).toBe("assistant 1"); // no answers given: the models cannot be named
  });
});

describe("eval ratings", () => {
  it("prints a leaderboard from a JSONL battles file", async () => {
    const path = join(directory.path, "battles.jsonl");
    const rows = [
      ...Array.from({ length: 6 }, () => ({ model_a: "vicuna", model_b: "alpaca", winner: "model_a" })),
      ...Array.from({ length: 2 }, () => ({ model_a: "alpaca", model_b: "vicuna", winner: "model_a" })),
      { model_a: "alpaca", model_b: "llama", winner: "model_a" },
      { model_a: "llama", model_b: "alpaca", winner: "tie" },
      { model_a: "llama", model_b: "vicuna", winner: "tie (bothbad)" },
    ];
    writeFileSync(path, rows.map((r) => JSON.stringify(r)).join("\n"));
    const result = await evalCli(["ratings", "--battles", path, "--rounds", "50", "--seed", "3", "--output-format", "terminal"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Leaderboard[\s\S]*vicuna[\s\S]*alpaca[\s\S]*llama/);
    expect(result.stdout).toContain("50 bootstrap rounds, seed 3");
    const json = JSON.parse((await evalCli(["ratings", "--battles", path, "--rounds", "0", "--output-format", "json"])).stdout);
    expect(json.results.rows.map((r: { model: string }) => r.model)).toEqual(["vicuna", "alpaca", "llama"]);
  });

  it("names the bad row", async () => {
    const path = join(directory.path, "bad.jsonl");
    writeFileSync(path, '{"model_a":"x","model_b":"y","winner":"model_a"}\n{"model_a":"x","model_b":"y","winner":"draw"}\n');
    const result = await evalCli(["ratings", "--battles", path]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/bad.jsonl row 2/);
  });
});

describe("eval command errors", () => {
  it("gives one clear line for bad input", async () => {
    expect((await evalCli(["frobnicate"])).stderr).toMatch(/unknown eval subcommand "frobnicate"/);
    expect((await evalCli(["show"])).stderr).toMatch(/--judgments <file> or --vicuna-review <file> is required/);
    expect((await evalCli(["show", "--judgments", "/nonexistent.jsonl"])).stderr).toMatch(/file not found/);
    expect((await evalCli(["judge", "--mode", "single", "--questions", blog("question.jsonl"), "--answers", blog("answer"), "--out", "x.jsonl"])).stderr).toMatch(/--judge-prompts/);
    expect((await evalCli(["judge", "--mode", "best", "--questions", blog("question.jsonl"), "--answers", blog("answer"), "--out", "x.jsonl"])).stderr).toMatch(/--mode must be single, pairwise or vicuna/);
    expect((await evalCli(["ratings", "--battles", blog("question.jsonl"), "--rounds=-1"])).stderr).toMatch(/--rounds must be at least 0/);
    const help = await evalCli(["judge", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--repeat <K>/);
  });
});

describe("a scripted judge behind a loopback OpenAI-compatible server", () => {
  let server: FakeOpenAIServer;
  beforeAll(async () => {
    server = await startFakeOpenAIServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it("runs the Vicuna review both ways with malformed, missing and failed replies, then shows the report", async () => {
    const questions = join(directory.path, "questions.jsonl");
    writeFileSync(questions, readFileSync(blog("question.jsonl"), "utf8").split("\n").slice(0, 4).join("\n"));
    let calls = 0;
    server.route("POST", "/v1/chat/completions", (request) => {
      calls++;
      const body = request.body as { messages: Array<{ role: string; content: string }> };
      const prompt = body.messages.find((m) => m.role === "user")!.content;
      const firstAnswer = /Assistant 1's Answer\]\n([\s\S]*?)\n\n\[The End/.exec(prompt)![1];
      const llamaFirst = firstAnswer.startsWith(llamaAnswerStart[questionIdOf(prompt)]);
      if (prompt.includes("How can I improve my time management skills?")) return jsonReply(chatCompletionBody({ content: llamaFirst ? "8 6\nAssistant 1 is better." : "6 8\nAssistant 2 is better." }));
      if (prompt.includes("deal with stress")) return jsonReply(chatCompletionBody({ content: "9 7\nThe first answer is better." })); // position-biased
      if (prompt.includes("Python and JavaScript")) return jsonReply(chatCompletionBody({ content: "Both answers are fine." })); // no scores
      return jsonReply(errorBody("invalid model", "invalid_request_error"), 400); // a failing judge call
    });
    const answers = join(directory.path, "answers");
    mkdirSync(answers);
    for (const model of ["llama-13b", "alpaca-13b"]) writeFileSync(join(answers, `answer_${model}.jsonl`), readFileSync(blog("answer", `answer_${model}.jsonl`), "utf8"));
    const llamaAnswerStart = Object.fromEntries(
      readFileSync(blog("answer", "answer_llama-13b.jsonl"), "utf8").trim().split("\n").map((line) => { const row = JSON.parse(line); return [row.question_id, row.text.slice(0, 40)]; }),
    );
    const questionText = Object.fromEntries(readFileSync(blog("question.jsonl"), "utf8").trim().split("\n").map((line) => { const row = JSON.parse(line); return [row.text, row.question_id]; }));
    const questionIdOf = (prompt: string) => questionText[/\[Question\]\n(.*)\n/.exec(prompt)![1]];

    const out = join(directory.path, "reviews.jsonl");
    const judged = await evalCli(
      ["judge", "--mode", "vicuna", "--questions", questions, "--answers", answers, "--baseline", "alpaca-13b", "--review-prompts", blog("prompt.jsonl"), "--reviewers", blog("reviewer.jsonl"), "--out", out, "--judge-base-url", server.baseURL, "--judge-remote-model", "gpt-4", "--retries", "0"],
      { OPENAI_API_KEY: "test" },
    );
    expect(judged.stderr).not.toMatch(/camelid eval:/); // progress lines only
    expect(judged.code).toBe(0);
    expect(judged.stdout).toMatch(/4 written/);
    expect(judged.stdout).toMatch(/2 without a readable verdict, 2 judge calls failed/);
    expect(calls).toBe(8);
    expect(server.requests.every((r) => (r.body as { temperature?: number }).temperature === 0)).toBe(true);
    // eval_gpt_review.py's --max-tokens default, not llm_judge's 2048.
    expect(server.requests.every((r) => tokenLimit(r.body) === 1024)).toBe(true);
    expect(judged.stdout).toMatch(/judge max tokens: 1024 \(eval_gpt_review.py's default\)/);

    const shown = await evalCli(["show", "--judgments", out, "--answers", answers, "--output-format", "markdown"]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain("# Vicuna review: llama-13b vs alpaca-13b");
    expect(shown.stdout).toContain("| all | 2 | 17.0 | 13.0 | 130.8% | 2 | 0 | 0 |");
    // Q1 agrees in both orders; Q2's judge always prefers Assistant 1.
    expect(shown.stdout).toContain("| position consistency (both orders agree) | 50.0% | 2 pairs |");
    expect(shown.stdout).toContain("| first-position win rate (50% = no bias) | 75.0% | decisive reviews |");
    expect(shown.stdout).toMatch(/2 reviews without scores \(excluded\): questions 3, 4/);

    // Resume: nothing left to do except the $ERROR$ row, which is tried again.
    const again = await evalCli(
      ["judge", "--mode", "vicuna", "--questions", questions, "--answers", answers, "--baseline", "alpaca-13b", "--review-prompts", blog("prompt.jsonl"), "--reviewers", blog("reviewer.jsonl"), "--out", out, "--judge-base-url", server.baseURL, "--judge-remote-model", "gpt-4", "--retries", "0", "--max-tokens", "300"],
      { OPENAI_API_KEY: "test" },
    );
    expect(again.stdout).toMatch(/1 written, 3 already done/);
    // The user's --max-tokens wins over the reviewer's default.
    expect(server.requests.slice(8).map((r) => tokenLimit(r.body))).toEqual([300, 300]);
    expect(again.stdout).toMatch(/judge max tokens: 300 \(--max-tokens\)/);
  });
});
