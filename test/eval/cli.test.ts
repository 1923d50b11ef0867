import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatCompletionBody, errorBody, jsonReply, startFakeOpenAIServer, type FakeOpenAIServer } from "../support/fake-openai-server.js";
import { sharedPath } from "../support/shared-data.js";
import { directoryPerTest, evalCli } from "./eval-cli.js";

const blog = (...parts: string[]) => sharedPath("eval", "vicuna_blog", ...parts);
const directory = directoryPerTest();

/** The token limit a request asked for (OpenAI's flavor calls it max_completion_tokens on chat). */
const tokenLimit = (body: unknown) => {
  const b = body as { max_tokens?: number; max_completion_tokens?: number };
  return b.max_completion_tokens ?? b.max_tokens;
};

describe("eval show reproduces the published Vicuna evaluation", () => {
  it("prints the totals and win/tie/loss of llama-13b vs alpaca-13b from the stored scores", async () => {
    const charts = join(directory.path, "charts");
    const result = await evalCli(["show", "--vicuna-review", blog("review", "review_llama_alpaca-13b.jsonl"), "--answers", blog("answer"), "--questions", blog("question.jsonl"), "--output-format", "markdown", "--charts", charts]);
    expect(result.code).toBe(0);
    // Totals over 80 reviews: llama-13b 525, alpaca-13b 605 (86.8%); 19 wins, 1 tie, 60 losses for llama-13b.
    expect(result.stdout).toContain("| all | 80 | 525.0 | 605.0 | 86.8% | 19 | 1 | 60 |");
    expect(result.stdout).toContain("| math | 3 | 13.0 | 3.0 | 433.3% | 2 | 1 | 0 |");
    expect(result.stdout).toContain("80 stored score");
    expect(result.stdout).toContain("win rule: one review per question, the higher score wins (the Vicuna blog's rule)");
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
    expect(parsed.results.overall).toEqual({ reviews: 80, scored: 80, total1: 525, total2: 605, win: 19, tie: 1, loss: 60, inconsistent: 0, relativeScore: 525 / 605 });
    expect(parsed.results.model1).toBe("assistant 1"); // no answers given: the models cannot be named
  });
});

describe("published Vicuna reviews: the stored score is the record", () => {
  type RawReview = { question_id: number; text: string; score: [number, number] };
  const reviewPath = blog("review", "review_llama_alpaca-13b.jsonl");
  const rawReviews = (): RawReview[] => readFileSync(reviewPath, "utf8").trim().split("\n").map((line) => JSON.parse(line) as RawReview);
  const categoryOf = new Map(readFileSync(blog("question.jsonl"), "utf8").trim().split("\n").map((line) => { const q = JSON.parse(line); return [q.question_id as number, q.category as string]; }));

  /** FastChat's aggregate_scores_from_table.py, re-done here: totals and better1/tie/better2 over the stored scores, -1 rows failed. */
  function aggregate(reviews: RawReview[]) {
    let total1 = 0, total2 = 0, better1 = 0, better2 = 0, tie = 0, failed = 0;
    for (const { score: [score1, score2] } of reviews) {
      if (score1 === -1 || score2 === -1) { failed++; continue; }
      total1 += score1; total2 += score2;
      if (score1 > score2) better1++; else if (score2 > score1) better2++; else tie++;
    }
    return { total1, total2, win: better1, tie, loss: better2, scored: reviews.length - failed };
  }
  const overallOf = (json: string) => { const o = JSON.parse(json).results.overall; return { total1: o.total1, total2: o.total2, win: o.win, tie: o.tie, loss: o.loss, scored: o.scored }; };

  it("reproduces the published totals and wins/ties/losses from the stored scores, overall and per category, and from the text alike", async () => {
    const published = aggregate(rawReviews());
    expect(published).toEqual({ total1: 525, total2: 605, win: 19, tie: 1, loss: 60, scored: 80 });
    const stored = await evalCli(["show", "--vicuna-review", reviewPath, "--questions", blog("question.jsonl"), "--output-format", "json"]);
    expect(overallOf(stored.stdout)).toEqual(published);
    const byCategory = JSON.parse(stored.stdout).results.byCategory as Record<string, { total1: number; total2: number; win: number; tie: number; loss: number; scored: number }>;
    for (const category of new Set(categoryOf.values())) {
      const { total1, total2, win, tie, loss, scored } = byCategory[category];
      expect({ total1, total2, win, tie, loss, scored }).toEqual(aggregate(rawReviews().filter((r) => categoryOf.get(r.question_id) === category)));
    }
    // The text allows it too: every score is in the text (the three hand-fixed math rows in other shapes).
    const text = await evalCli(["show", "--vicuna-review", reviewPath, "--scores", "text", "--output-format", "json"]);
    expect(overallOf(text.stdout)).toEqual(published);
    expect(JSON.parse(text.stdout).results.scoreMethods).toEqual({ "first-line": 77, "assistant-lines": 2, tuple: 1 });
    expect(JSON.parse(text.stdout).results.scoreDisagreements).toEqual([]);
  });

  it("uses a row's stored score over its text, lists where they disagree, and reads the text with --scores text", async () => {
    const edited = rawReviews().map((review) =>
      review.question_id === 1 ? { ...review, score: [2, 9] } : review.question_id === 2 ? { ...review, score: [-1, -1] } : review,
    );
    const path = join(directory.path, "review_edited.jsonl");
    writeFileSync(path, edited.map((review) => JSON.stringify(review)).join("\n") + "\n");
    const stored = await evalCli(["show", "--vicuna-review", path, "--output-format", "markdown"]);
    // Q1 counts 2 vs 9 (a loss instead of 9 vs 8); Q2's -1 is a failed review, left out as FastChat does.
    expect(stored.stdout).toContain("| all | 79 | 509.0 | 599.0 | 85.0% | 17 | 1 | 61 |");
    expect(stored.stdout).toContain('the stored "score" and the review text disagree for 2 reviews (the stored score is used): question 1 stored 2 9, text 9 8; question 2 stored -1 -1, text 9 7');
    expect(stored.stdout).toMatch(/1 reviews without scores \(their 1 questions are excluded\): 2 \(the stored score is -1/);
    const text = await evalCli(["show", "--vicuna-review", path, "--scores", "text", "--output-format", "markdown"]);
    expect(text.stdout).toContain("| all | 80 | 525.0 | 605.0 | 86.8% | 19 | 1 | 60 |");
    expect(text.stdout).toContain("disagree for 2 reviews (the text is used)");
    const wrong = await evalCli(["show", "--vicuna-review", path, "--scores", "guess"]);
    expect([wrong.code, wrong.stderr]).toEqual([1, expect.stringMatching(/--scores must be stored or text/)]);
  });
});

describe("several judges in one judgment file", () => {
  const writeRows = (name: string, rows: object[]) => {
    const path = join(directory.path, name);
    writeFileSync(path, rows.map((row) => JSON.stringify(row)).join("\n") + "\n");
    return path;
  };
  const single = (judge: string, model: string, question: number, score: number) => ({ question_id: question, model, judge: [judge, "single-v1"], user_prompt: "", judgment: `[[${score}]]`, score, turn: 1 });

  it("reports single grades per judge, never pooled", async () => {
    // The strict judge gives x 2 and y 4; the lenient one x 9 and y 8: pooled, x and y would tie at 5.5 and 6.
    const path = writeRows("gpt-4_single.jsonl", [single("strict", "x", 1, 2), single("strict", "y", 1, 4), single("lenient", "x", 1, 9), single("lenient", "y", 1, 8)]);
    const shown = await evalCli(["show", "--judgments", path, "--output-format", "markdown"]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain("2 judges in one file, reported separately (never pooled): strict, lenient");
    expect(shown.stdout).toContain("# Single-answer grading (judge: strict)");
    expect(shown.stdout).toContain("# Single-answer grading (judge: lenient)");
    expect(shown.stdout).not.toContain("5.50");
    const json = JSON.parse((await evalCli(["show", "--judgments", path, "--output-format", "json"])).stdout);
    expect(json.judges).toEqual(["strict", "lenient"]);
    expect(json.reports.map((r: { results: { models: Array<{ model: string; overall: { mean: number } }> } }) => r.results.models.map((m) => [m.model, m.overall.mean]))).toEqual([
      [["y", 4], ["x", 2]],
      [["x", 9], ["y", 8]],
    ]);
  });

  it("reports pairwise verdicts and Vicuna reviews per judge", async () => {
    const pair = (judge: string, winner: string) => ({ question_id: 1, model_1: "x", model_2: "y", g1_winner: winner, g2_winner: winner, judge: [judge, "pair-v2"], g1_user_prompt: "", g1_judgment: "", g2_user_prompt: "", g2_judgment: "", turn: 1 });
    const pairwise = await evalCli(["show", "--judgments", writeRows("pair.jsonl", [pair("a", "model_1"), pair("b", "model_2")]), "--output-format", "json"]);
    const winsOfX = JSON.parse(pairwise.stdout).reports.map((r: { results: { models: Array<{ model: string; win: number }> } }) => r.results.models.find((m) => m.model === "x")!.win);
    expect(winsOfX).toEqual([1, 0]);
    // Ratings are one judge's too: pooled, a's and b's verdicts would cancel out.
    const pairPath = join(directory.path, "pair.jsonl");
    const pooled = await evalCli(["ratings", "--battles", pairPath, "--rounds", "0"]);
    expect([pooled.code, pooled.stderr]).toEqual([1, expect.stringMatching(/verdicts of 2 judges \(a, b\); choose one with --judge/)]);
    const rated = await evalCli(["ratings", "--battles", pairPath, "--rounds", "0", "--judge", "b", "--output-format", "json"]);
    expect(JSON.parse(rated.stdout).results.battles).toBe(1);
    expect(JSON.parse(rated.stdout).results.rows[0].model).toBe("y");
    const review = (judge: string, text: string) => ({ question_id: 1, model_1: "x", model_2: "y", judge: [judge, "vicuna-review-1"], text });
    const vicuna = await evalCli(["show", "--vicuna-review", writeRows("review.jsonl", [review("a", "9 2\nx"), review("b", "1 8\ny")]), "--output-format", "markdown"]);
    expect(vicuna.stdout).toContain("# Vicuna review: x vs y (judge: a)");
    expect(vicuna.stdout).toContain("| all | 1 | 9.0 | 2.0 | 450.0% | 1 | 0 | 0 |");
    expect(vicuna.stdout).toContain("# Vicuna review: x vs y (judge: b)");
    expect(vicuna.stdout).toContain("| all | 1 | 1.0 | 8.0 | 12.5% | 0 | 0 | 1 |");
  });

  it("derives pairwise verdicts from single grades (--pairwise-from-single): ties within 0.1, missing grades excluded", async () => {
    const path = writeRows("single.jsonl", [
      single("gpt-4", "x", 1, 8), single("gpt-4", "y", 1, 6), single("gpt-4", "z", 1, 7.95),
      single("gpt-4", "x", 2, 3), single("gpt-4", "y", 2, -1), single("gpt-4", "z", 2, 9),
    ]);
    const shown = await evalCli(["show", "--judgments", path, "--pairwise-from-single", "--baseline", "y", "--output-format", "markdown"]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain("verdicts derived from single grades (FastChat's pairwise-from-single): the higher grade wins, grades within 0.1 tie");
    expect(shown.stdout).toContain("## Against y");
    expect(shown.stdout).toContain("| x | 1 | 0 | 0 | 0 | 1 | 100.0% | 100.0% |");
    expect(shown.stdout).not.toContain("position consistency");
    const all = JSON.parse((await evalCli(["show", "--judgments", path, "--pairwise-from-single", "--output-format", "json"])).stdout).results;
    const x = all.models.find((m: { model: string }) => m.model === "x");
    expect([x.win, x.tie, x.loss, x.error]).toEqual([1, 1, 1, 1]); // beats y on Q1, ties z (8 vs 7.95), loses to z on Q2, no grade for y on Q2
    const unknown = await evalCli(["show", "--judgments", path, "--pairwise-from-single", "--baseline", "gpt-3.5"]);
    expect(unknown.stderr).toMatch(/baseline model "gpt-3.5" has no grades/);
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

  /** The first `count` Vicuna-80 questions and the blog's llama-13b and alpaca-13b answers, in the test's directory. */
  function blogReviewInputs(count: number): { questions: string; answers: string } {
    const questions = join(directory.path, "questions.jsonl");
    writeFileSync(questions, readFileSync(blog("question.jsonl"), "utf8").split("\n").slice(0, count).join("\n"));
    const answers = join(directory.path, "answers");
    mkdirSync(answers);
    for (const model of ["llama-13b", "alpaca-13b"]) writeFileSync(join(answers, `answer_${model}.jsonl`), readFileSync(blog("answer", `answer_${model}.jsonl`), "utf8"));
    return { questions, answers };
  }

  it("runs the Vicuna review both ways (--both-orders) with malformed, missing and failed replies, then shows the report", async () => {
    const { questions, answers } = blogReviewInputs(4);
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
    const llamaAnswerStart = Object.fromEntries(
      readFileSync(blog("answer", "answer_llama-13b.jsonl"), "utf8").trim().split("\n").map((line) => { const row = JSON.parse(line); return [row.question_id, row.text.slice(0, 40)]; }),
    );
    const questionText = Object.fromEntries(readFileSync(blog("question.jsonl"), "utf8").trim().split("\n").map((line) => { const row = JSON.parse(line); return [row.text, row.question_id]; }));
    const questionIdOf = (prompt: string) => questionText[/\[Question\]\n(.*)\n/.exec(prompt)![1]];

    const out = join(directory.path, "reviews.jsonl");
    const judged = await evalCli(
      ["judge", "--mode", "vicuna", "--questions", questions, "--answers", answers, "--baseline", "alpaca-13b", "--review-prompts", blog("prompt.jsonl"), "--reviewers", blog("reviewer.jsonl"), "--out", out, "--both-orders", "--judge-base-url", server.baseURL, "--judge-remote-model", "gpt-4", "--retries", "0"],
      { OPENAI_API_KEY: "test" },
    );
    expect(judged.stderr).not.toMatch(/camelid eval:/); // progress lines only
    expect(judged.code).toBe(1); // $ERROR$ rows remain: not done
    expect(judged.stdout).toMatch(/4 written/);
    expect(judged.stdout).toMatch(/2 without a readable verdict, 2 of 8 judge calls failed after retries \(\$ERROR\$\); run the same command again/);
    expect(judged.stdout).toMatch(/orders: both \(--both-orders, an extension/);
    expect(calls).toBe(8);
    // eval_gpt_review.py's sampling: temperature 0.2 and --max-tokens 1024, not llm_judge's 0 and 2048.
    expect(server.requests.every((r) => (r.body as { temperature?: number }).temperature === 0.2)).toBe(true);
    expect(server.requests.every((r) => tokenLimit(r.body) === 1024)).toBe(true);
    expect(judged.stdout).toMatch(/judge max tokens: 1024 \(eval_gpt_review.py's default\), temperature: 0.2 \(eval_gpt_review.py's\)/);

    const shown = await evalCli(["show", "--judgments", out, "--answers", answers, "--output-format", "markdown"]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain("# Vicuna review: llama-13b vs alpaca-13b (judge: gpt-4)");
    // Both orders combined as pairwise mode does: Q1 agrees (a win), Q2 flips with the order (a tie).
    expect(shown.stdout).toContain("win rule: reviewed in both orders; a win only when both orders agree, otherwise a tie (FastChat's pairwise rule)");
    expect(shown.stdout).toContain("| all (both orders) | 2 | 32.0 | 28.0 | 114.3% | 1 | 1 | 0 | 1 |");
    expect(shown.stdout).toContain("| llama-13b shown first | 2 | 17.0 | 13.0 | 130.8% | 2 | 0 | 0 | 0 |");
    expect(shown.stdout).toContain("| alpaca-13b shown first | 2 | 15.0 | 15.0 | 100.0% | 1 | 0 | 1 | 0 |");
    // Q1 agrees in both orders; Q2's judge always prefers Assistant 1.
    expect(shown.stdout).toContain("| position consistency (both orders agree) | 50.0% | 2 pairs |");
    // The same diagnostics writer as pairwise mode: each measure says how many cases it is over.
    expect(shown.stdout).toContain("| first-position win rate (50% = no bias) | 75.0% | 4 decisive games |");
    expect(shown.stdout).toMatch(/\| longer answer wins \| [^|]+ \| \d+ decisive pairs \|/);
    expect(shown.stdout).toMatch(/4 reviews without scores \(their 2 questions are excluded\): 3 forward, 3 swapped, 4 forward, 4 swapped/);

    // Resume: nothing left to do except the $ERROR$ row, which is tried again.
    const again = await evalCli(
      ["judge", "--mode", "vicuna", "--questions", questions, "--answers", answers, "--baseline", "alpaca-13b", "--review-prompts", blog("prompt.jsonl"), "--reviewers", blog("reviewer.jsonl"), "--out", out, "--both-orders", "--judge-base-url", server.baseURL, "--judge-remote-model", "gpt-4", "--retries", "0", "--max-tokens", "300", "--temperature", "0"],
      { OPENAI_API_KEY: "test" },
    );
    expect(again.stdout).toMatch(/1 written, 3 already done/);
    expect(again.code).toBe(1); // the judge still fails on that row
    // The user's --max-tokens wins over the reviewer's default.
    expect(server.requests.slice(8).map((r) => [tokenLimit(r.body), (r.body as { temperature?: number }).temperature])).toEqual([[300, 0], [300, 0]]);
    expect(again.stdout).toMatch(/judge max tokens: 300 \(--max-tokens\), temperature: 0 \(--temperature\)/);
  });

  it("reviews one order by default, answer 1 = the first model, as eval_gpt_review.py; show uses the blog's rule", async () => {
    const { questions, answers } = blogReviewInputs(3);
    const llamaAnswers = readFileSync(blog("answer", "answer_llama-13b.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line).text.slice(0, 40) as string);
    const prompts: string[] = [];
    server.route("POST", "/v1/chat/completions", (request) => {
      const prompt = (request.body as { messages: Array<{ role: string; content: string }> }).messages.find((m) => m.role === "user")!.content;
      prompts.push(prompt);
      return jsonReply(chatCompletionBody({ content: prompts.length === 2 ? "5 7\nAssistant 2 is better." : "8 6\nAssistant 1 is better." }));
    });
    const out = join(directory.path, "reviews.jsonl");
    const judgeArgs = ["judge", "--mode", "vicuna", "--questions", questions, "--answers", answers, "--baseline", "alpaca-13b", "--review-prompts", blog("prompt.jsonl"), "--reviewers", blog("reviewer.jsonl"), "--out", out, "--judge-base-url", server.baseURL, "--judge-remote-model", "gpt-4"];
    const judged = await evalCli(judgeArgs, { OPENAI_API_KEY: "test" });
    expect(judged.code).toBe(0);
    // One review per question, llama-13b's answer as Assistant 1 in every one.
    expect(prompts).toHaveLength(3);
    expect(prompts.every((prompt, index) => /Assistant 1's Answer\]\n([\s\S]*?)\n\n\[The End/.exec(prompt)![1].startsWith(llamaAnswers[index]))).toBe(true);
    expect(judged.stdout).toMatch(/orders: one, answer 1 = the first model of the pair \(as eval_gpt_review.py; --both-orders also reviews the swapped order\)/);
    const rows = readFileSync(out, "utf8").trim().split("\n").map((line) => JSON.parse(line));
    expect(rows.map((row) => [row.model_1, row.model_2, row.score, "swapped_text" in row, "swapped_score" in row])).toEqual([
      ["llama-13b", "alpaca-13b", [8, 6], false, false],
      ["llama-13b", "alpaca-13b", [5, 7], false, false],
      ["llama-13b", "alpaca-13b", [8, 6], false, false],
    ]);
    const shown = await evalCli(["show", "--vicuna-review", out, "--output-format", "markdown"]);
    expect(shown.stdout).toContain("win rule: one review per question, the higher score wins (the Vicuna blog's rule)");
    expect(shown.stdout).toContain("| all | 3 | 21.0 | 19.0 | 110.5% | 2 | 0 | 1 |");

    // A one-order file is not silently mixed with swapped reviews.
    const mixed = await evalCli([...judgeArgs, "--both-orders"], { OPENAI_API_KEY: "test" });
    expect(mixed.code).toBe(1);
    expect(mixed.stderr).toMatch(/holds 3 reviews made in one order; drop --both-orders to resume it, or start over with a new --out/);
    expect((await evalCli(["judge", "--mode", "single", "--both-orders", "--questions", questions, "--answers", answers, "--judge-prompts", sharedPath("eval", "judge_prompts.jsonl"), "--out", out])).stderr).toMatch(/--both-orders applies to --mode vicuna/);
    expect((await evalCli(["judge", "--help"])).stdout).toMatch(/--both-orders[\s\S]*as eval_gpt_review.py/);
  });

  it("refuses to resume judging when an answer or the review prompt changed since, and exits 1 when every judge call fails", async () => {
    const { questions, answers } = blogReviewInputs(2);
    const reviewPrompts = join(directory.path, "prompt.jsonl");
    writeFileSync(reviewPrompts, readFileSync(blog("prompt.jsonl"), "utf8"));
    let failing = true;
    server.route("POST", "/v1/chat/completions", () => (failing ? jsonReply(errorBody("invalid model", "invalid_request_error"), 400) : jsonReply(chatCompletionBody({ content: "8 6\nfine" }))));
    const out = join(directory.path, "reviews.jsonl");
    const judge = () =>
      evalCli(["judge", "--mode", "vicuna", "--questions", questions, "--answers", answers, "--baseline", "alpaca-13b", "--review-prompts", reviewPrompts, "--reviewers", blog("reviewer.jsonl"), "--out", out, "--judge-base-url", server.baseURL, "--judge-remote-model", "gpt-4", "--retries", "0"], { OPENAI_API_KEY: "test" });

    const allFailed = await judge();
    expect(allFailed.code).toBe(1);
    expect(allFailed.stdout).toMatch(/2 of 2 judge calls failed after retries \(\$ERROR\$\); run the same command again/);
    failing = false;
    const retried = await judge();
    expect(retried.code).toBe(0);
    expect(retried.stdout).toMatch(/2 written, 0 already done/);
    expect((await judge()).stdout).toMatch(/0 written, 2 already done/);

    // The second question's llama answer edited under the same answer id: its review is no longer current.
    const llamaPath = join(answers, "answer_llama-13b.jsonl");
    const llamaRows = readFileSync(llamaPath, "utf8").trim().split("\n").map((line) => JSON.parse(line));
    llamaRows[1].text = `${llamaRows[1].text} (edited)`;
    writeFileSync(llamaPath, llamaRows.map((row) => JSON.stringify(row)).join("\n"));
    const changedAnswer = await judge();
    expect(changedAnswer.code).toBe(1);
    expect(changedAnswer.stderr).toContain(`eval judge: ${out} holds rows made from input that changed since they were written: the answer of llama-13b to question 2 (--answers) (sha256 `);
    expect(changedAnswer.stderr).toMatch(/\(sha256 [0-9a-f]{12} → [0-9a-f]{12}\)\. Restore the original input to resume, or start over with a new --out \(or delete /);
    writeFileSync(llamaPath, readFileSync(blog("answer", "answer_llama-13b.jsonl"), "utf8"));

    // The review prompt edited: every review made with it is refused.
    writeFileSync(reviewPrompts, readFileSync(blog("prompt.jsonl"), "utf8").replace("helpful and precise assistant", "precise assistant"));
    const changedPrompt = await judge();
    expect(changedPrompt.code).toBe(1);
    expect(changedPrompt.stderr).toMatch(/review prompt 1 of reviewer gpt-4-0328-default \(--review-prompts, --reviewers\) \(sha256 [0-9a-f]{12} → [0-9a-f]{12}, 2 rows\)/);
  });
});
