import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatCompletionBody, errorBody, jsonReply, startFakeOpenAIServer, type FakeOpenAIServer } from "../support/fake-openai-server.js";
import { sharedPath } from "../support/shared-data.js";
import { directoryPerTest, evalCli as runEvalCli } from "./eval-cli.js";

const directory = directoryPerTest();
let server: FakeOpenAIServer;
beforeAll(async () => {
  server = await startFakeOpenAIServer();
});
afterAll(async () => {
  await server.close();
});

/** Every run here talks to the loopback server, which takes any key. */
const evalCli = (argv: string[]) => runEvalCli(argv, { OPENAI_API_KEY: "test" });
const remote = (model: string) => ["--base-url", server.baseURL, "--remote-model", model];
const judgeFlags = () => ["--judge-base-url", server.baseURL, "--judge-remote-model", "judge-4"];
type Body = { model: string; messages: Array<{ role: string; content: string }>; temperature?: number; max_tokens?: number; max_completion_tokens?: number };

/** The token limit a request asked for (OpenAI's flavor calls it max_completion_tokens on chat). */
const tokenLimit = (body: unknown) => {
  const b = body as { max_tokens?: number; max_completion_tokens?: number };
  return b.max_completion_tokens ?? b.max_tokens;
};

describe("MT-bench end to end against a loopback OpenAI-compatible server", () => {
  it("answers two turns, judges pairwise in both orders with malformed verdicts, shows and rates", async () => {
    const questionFile = join(directory.path, "questions.jsonl");
    const all = readFileSync(sharedPath("eval", "mt_bench", "question.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const picked = ["writing", "roleplay", "stem"].map((category) => all.find((q: { category: string }) => q.category === category));
    writeFileSync(questionFile, picked.map((q) => JSON.stringify(q)).join("\n"));

    // The two contestants: "strong" answers at length, "weak" in one word.
    server.route("POST", "/v1/chat/completions", (request) => {
      const body = request.body as Body;
      if (body.model === "strong") return jsonReply(chatCompletionBody({ content: `A thorough answer to: ${body.messages.at(-1)!.content.slice(0, 30)}` }));
      if (body.model === "weak") return jsonReply(chatCompletionBody({ content: "Dunno." }));
      // The judge: prefers the thorough answer, except on stem turn 2 where it always says [[A]]
      // (position bias), and on roleplay turn 1 where it names both verdicts (ambiguous with --strict-verdicts).
      const prompt = body.messages.find((m) => m.role === "user")!.content;
      const firstShown = /Assistant A(?:'s Answer\]|:)\n([\s\S]*?)\n/.exec(prompt)![1];
      if (prompt.includes(picked[1].turns[0]) && !prompt.includes("### User")) return jsonReply(chatCompletionBody({ content: "Between [[A]] and [[B]] I cannot choose." }));
      if (prompt.includes(picked[2].turns[1])) return jsonReply(chatCompletionBody({ content: "Assistant A. [[A]]" }));
      return jsonReply(chatCompletionBody({ content: firstShown.startsWith("A thorough") ? "A is better. [[A]]" : "B is better. [[B]]" }));
    });

    const answers = join(directory.path, "answers");
    for (const model of ["strong", "weak"]) {
      const answered = await evalCli(["answer", "--questions", questionFile, "--out", join(answers, `${model}.jsonl`), ...remote(model), "--concurrency", "2"]);
      expect(answered.stderr).not.toMatch(/camelid eval:/);
      expect(answered.stdout).toMatch(/3 written, 0 already done, 0 failed, 3 questions/);
      expect(answered.stdout).toMatch(/prompt format: /);
    }
    const answerRequests = server.requests.map((r) => r.body as Body);
    expect(answerRequests).toHaveLength(12);
    const temperatures = Object.fromEntries(answerRequests.filter((b) => b.model === "strong" && b.messages.length === 1).map((b) => [b.messages[0].content, b.temperature]));
    expect([temperatures[picked[0].turns[0]], temperatures[picked[1].turns[0]], temperatures[picked[2].turns[0]]]).toEqual([0.7, 0.7, 0.1]);
    expect(answerRequests.find((b) => b.messages.length === 3)!.messages[1].role).toBe("assistant");

    const judgments = join(directory.path, "pairwise.jsonl");
    const judged = await evalCli(["judge", "--mode", "pairwise", "--questions", questionFile, "--answers", answers, "--judge-prompts", sharedPath("eval", "judge_prompts.jsonl"), "--out", judgments, ...judgeFlags(), "--concurrency", "3", "--strict-verdicts"]);
    expect(judged.stderr).not.toMatch(/camelid eval:/);
    expect(judged.stdout).toMatch(/6 written, 0 already done, 6 planned/);
    expect(judged.stdout).toMatch(/1 without a readable verdict/);
    expect(judged.stdout).toMatch(/verdicts read by strict rules \(--strict-verdicts/);
    expect(server.requests.filter((r) => (r.body as Body).model === "judge-4")).toHaveLength(12);
    expect(server.requests.filter((r) => (r.body as Body).model === "judge-4").every((r) => tokenLimit(r.body) === 2048)).toBe(true);
    expect(judged.stdout).toMatch(/judge max tokens: 2048 \(FastChat llm_judge's default\), temperature: 0 \(FastChat llm_judge's\)/);

    const shown = await evalCli(["show", "--judgments", judgments, "--answers", answers, "--output-format", "markdown", "--charts", join(directory.path, "charts")]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/- strong answered with prompt format: \S+/);
    // strong vs weak: 4 consistent wins, 1 inconsistent (stem turn 2), 1 without a verdict (roleplay turn 1).
    expect(shown.stdout).toContain("| strong | 4 | 0 | 0 | 1 | 1 | 80.0% | 90.0% |");
    expect(shown.stdout).toContain("| weak | 0 | 0 | 4 | 1 | 1 | 0.0% | 10.0% |");
    expect(shown.stdout).toContain("| position consistency (both orders agree) | 80.0% | 5 pairs |");
    expect(shown.stdout).toContain("| longer answer wins | 100.0% | 4 decisive pairs |");
    expect(readFileSync(join(directory.path, "charts", "category-radar.svg"), "utf8")).toContain("roleplay");

    const rated = await evalCli(["ratings", "--battles", judgments, "--rounds", "20", "--output-format", "json"]);
    expect(rated.stderr).toBe("");
    const board = JSON.parse(rated.stdout).results;
    expect(board.battles).toBe(5);
    expect(board.rows[0].model).toBe("strong");
    expect(board.rows[0].bradleyTerry - board.rows[1].bradleyTerry).toBeCloseTo(400 * Math.log10(4.5 / 0.5), 6);
  });

  it("single grading with --repeat 3 reports median and spread", async () => {
    const questionFile = join(directory.path, "q.jsonl");
    writeFileSync(questionFile, JSON.stringify({ question_id: 1, category: "writing", turns: ["Write a line."] }));
    const answers = join(directory.path, "answers");
    mkdirSync(answers);
    writeFileSync(join(answers, "m.jsonl"), JSON.stringify({ question_id: 1, model_id: "m", choices: [{ index: 0, turns: ["A line."] }] }));
    const scores = [5, 7, 6];
    let call = 0;
    server.route("POST", "/v1/chat/completions", () => jsonReply(chatCompletionBody({ content: `Fine. Rating: [[${scores[call++ % 3]}]]` })));
    const out = join(directory.path, "single.jsonl");
    const judged = await evalCli(["judge", "--mode", "single", "--questions", questionFile, "--answers", answers, "--judge-prompts", sharedPath("eval", "judge_prompts.jsonl"), "--out", out, "--repeat", "3", ...judgeFlags()]);
    expect(judged.stdout).toMatch(/3 written/);
    const shown = await evalCli(["show", "--judgments", out, "--output-format", "markdown"]);
    expect(shown.stdout).toContain("| m | 6.00 | 6.00 | 1 | 0 | 0 | 6.00 [5.00, 7.00] ± 1.00 (K=3) |");
  });

  it("eval answer: failed questions are counted and answered by the next run; a changed question is refused", async () => {
    const questionFile = join(directory.path, "q.jsonl");
    const questions = [
      { question_id: 1, category: "writing", turns: ["Write a line.", "Another."] },
      { question_id: 2, category: "math", turns: ["What is 2+2?"] },
    ];
    writeFileSync(questionFile, questions.map((q) => JSON.stringify(q)).join("\n"));
    let up = false;
    let questionTwoUp = false;
    // A 503 the client is told not to retry: the request fails at once.
    server.route("POST", "/v1/chat/completions", (request) => {
      const asked = (request.body as Body).messages.at(-1)!.content;
      return up || (questionTwoUp && asked === questions[1].turns[0])
        ? jsonReply(chatCompletionBody({ content: "An answer." }))
        : jsonReply(errorBody("overloaded", "server_error"), 503, { "x-should-retry": "false" });
    });
    const out = join(directory.path, "answers", "m.jsonl");
    const answer = () => evalCli(["answer", "--questions", questionFile, "--out", out, ...remote("m")]);

    const down = await answer();
    expect(down.stderr).not.toMatch(/camelid eval:/);
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/0 written, 0 already done, 2 failed, 2 questions/);
    expect(down.stdout).toMatch(/failed: question 1 \(.*\), question 2 \(.*\); run the same command again to answer them/);
    // Done must mean done: a run that answered some questions but not all still exits 1.
    questionTwoUp = true;
    const partly = await answer();
    expect(partly.code).toBe(1);
    expect(partly.stdout).toMatch(/1 written, 0 already done, 1 failed, 2 questions/);
    expect(partly.stdout).toMatch(/failed: question 1 \(.*\); run the same command again to answer them/);
    up = true;
    const again = await answer();
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/1 written, 1 already done, 0 failed, 2 questions/);
    expect((await answer()).stdout).toMatch(/0 written, 2 already done, 0 failed/);

    // Question 2's text changed under the same id: its old answer is not reported as current.
    const before = readFileSync(out, "utf8");
    writeFileSync(questionFile, [questions[0], { ...questions[1], turns: ["What is 3+3?"] }].map((q) => JSON.stringify(q)).join("\n"));
    const changed = await answer();
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain(`camelid eval: eval answer: ${out} holds rows made from input that changed since they were written: question 2 (--questions) (sha256 `);
    expect(changed.stderr).toContain(`Restore the original input to resume, or start over with a new --out (or delete ${out})`);
    expect(readFileSync(out, "utf8")).toBe(before);
  });

  it("eval judge exits 1 while any $ERROR$ row remains, and 0 once the next run has judged it", async () => {
    const questionFile = join(directory.path, "q.jsonl");
    writeFileSync(questionFile, [1, 2].map((id) => JSON.stringify({ question_id: id, category: "writing", turns: [`Write line ${id}.`] })).join("\n"));
    const answers = join(directory.path, "answers");
    mkdirSync(answers);
    writeFileSync(join(answers, "m.jsonl"), [1, 2].map((id) => JSON.stringify({ question_id: id, model_id: "m", choices: [{ index: 0, turns: [`Line ${id}.`] }] })).join("\n"));
    let judgeUp = false;
    server.route("POST", "/v1/chat/completions", (request) => {
      const prompt = (request.body as Body).messages.find((m) => m.role === "user")!.content;
      return judgeUp || !prompt.includes("Write line 2.")
        ? jsonReply(chatCompletionBody({ content: "Fine. Rating: [[6]]" }))
        : jsonReply(errorBody("overloaded", "server_error"), 503, { "x-should-retry": "false" });
    });
    const out = join(directory.path, "single.jsonl");
    const judge = () => evalCli(["judge", "--mode", "single", "--questions", questionFile, "--answers", answers, "--judge-prompts", sharedPath("eval", "judge_prompts.jsonl"), "--out", out, "--retries", "0", ...judgeFlags()]);
    const partly = await judge();
    expect(partly.stderr).not.toMatch(/camelid eval:/);
    expect(partly.code).toBe(1);
    expect(partly.stdout).toMatch(/1 of 2 judge calls failed after retries \(\$ERROR\$\); run the same command again to judge their rows again/);
    judgeUp = true;
    const again = await judge();
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/1 written, 1 already done, 2 planned/);
    expect(again.stdout).toMatch(/0 of 1 judge calls failed/);
  });
});
