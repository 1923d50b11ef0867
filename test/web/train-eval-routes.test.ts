// The Train and Eval views' routes, socket-free through app.request(): run states from the folders'
// files, metrics read from a cursor (only what was appended), "serve this adapter" with stories260K and a
// real LoRA adapter, llm_judge results as `eval show` reports them, the per-question browser, and names
// that try to leave the data dir.
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadJudgmentFile } from "../../src/eval/report/load-judgments.js";
import { showReports } from "../../src/eval/report/show-reports.js";
import { loadQuestions } from "../../src/eval/data/questions.js";
import { createServerApp } from "../../src/server/app.js";
import { hashApiKey } from "../../src/server/auth.js";
import type { OpenAIErrorBody } from "../../src/errors/index.js";
import { ModelRegistry } from "../../src/server/model-registry.js";
import type { EvalQuestionDetail, EvalQuestionList, EvalResultList, EvalResultsDetail } from "../../src/server/routes/eval-results.js";
import type { TextCompletion } from "../../src/server/openai/response-shapes.js";
import type { ModelList } from "../../src/server/routes/models.js";
import type { ServedAdapter, TrainingMetricsPage, TrainingRunDetail, TrainingRunList } from "../../src/server/routes/training-runs.js";
import { stories260KPath } from "../support/shared-data.js";
import { temporaryDirectories } from "../support/temporary-directories.js";
import { appendMetrics, localModelSpec, trainRecord, validationRecord, writeFailedRun, writeFinishedRun, writeKilledRun, writeMtBenchResults, writeRunningRun } from "./support/train-eval-data.js";

const newDirectory = temporaryDirectories("camelid-train-eval-routes-");

let dataDir: string;
let registry: ModelRegistry;
let app: ReturnType<typeof createServerApp>["app"];
let runningFolder: string;

/** A route's status and JSON body, typed as the server's response type the caller names (its error body otherwise). */
const json = async <T = OpenAIErrorBody>(path: string, init?: RequestInit) => {
  const response = await app.request(path, init);
  return { status: response.status, body: (await response.json()) as T };
};
const post = <T = OpenAIErrorBody>(path: string, body?: unknown) =>
  json<T>(path, { method: "POST", ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }) });

beforeAll(async () => {
  dataDir = newDirectory();
  const runs = join(dataDir, "runs");
  runningFolder = writeRunningRun(runs, "live", [trainRecord(1, 3.5), trainRecord(2, 3.1)]);
  await writeFinishedRun(runs, "done");
  writeFailedRun(runs, "diverged");
  writeKilledRun(runs, "killed");
  mkdirSync(join(runs, "not-a-run"), { recursive: true });
  // a run-like folder beside the runs folder: no name may reach it
  writeRunningRun(dataDir, "outside", [trainRecord(1, 1)]);
  writeMtBenchResults(join(dataDir, "eval"), "mt-bench");
  registry = new ModelRegistry([localModelSpec("stories260K", stories260KPath())]);
  app = createServerApp({
    registry,
    trainingRuns: { directory: runs, adapterModel: (model) => localModelSpec(model.id, model.path, model.lora) },
    evalResultsDirectory: join(dataDir, "eval"),
  }).app;
});
afterAll(() => registry?.dispose());

describe("training run routes", () => {
  it("list the runs with the state their files give", async () => {
    const { status, body } = await json<TrainingRunList>("/api/train/runs");
    expect(status).toBe(200);
    const states = Object.fromEntries(body.data.map((run) => [run.name, run.state]));
    expect(states).toEqual({ live: "running", done: "finished", diverged: "failed", killed: "interrupted" });
    const done = body.data.find((run) => run.name === "done");
    expect(done).toMatchObject({ steps: 4, total_steps: 4, final_loss: 2.5, has_adapter: true, served_as: null });
    expect(body.data.find((run) => run.name === "diverged")?.reason).toMatch(/loss is NaN/);
  });

  it("show a run's resolved settings, report and outputs", async () => {
    const { status, body } = await json<TrainingRunDetail>("/api/train/runs/done");
    expect(status).toBe(200);
    expect(body.recipe).toEqual({ rank: 4, alpha: 8, lr: 0.0002, "max-steps": 4, targets: ["q", "o"] });
    expect(body.report?.summary).toMatchObject({ finalLoss: 2.5 });
    const outputs = Object.fromEntries(body.outputs.map((output) => [output.file, output.kind]));
    expect(outputs).toMatchObject({ "adapter.gguf": "adapter", "loss.svg": "chart", "serve.json": "serve config", "metrics.jsonl": "metrics" });
    const chart = await app.request("/api/train/runs/done/files/loss.svg");
    expect(chart.status).toBe(200);
    expect(chart.headers.get("content-type")).toBe("image/svg+xml");
    expect(await chart.text()).toMatch(/^<svg/);
  });

  it("read metrics.jsonl from a cursor: only appended whole lines, and from the top after the file is replaced", async () => {
    const first = await json<TrainingMetricsPage>("/api/train/runs/live/metrics");
    expect(first.status).toBe(200);
    expect(first.body.records.map((record) => record.step)).toEqual([1, 2]);
    expect(first.body).toMatchObject({ reset: false, state: "running" });

    appendMetrics(runningFolder, [trainRecord(3, 2.8), validationRecord(3, 2.9)]);
    writeFileSync(join(runningFolder, "metrics.jsonl"), '{"type":"train","step":4,', { flag: "a" }); // being written right now
    const second = await json<TrainingMetricsPage>(`/api/train/runs/live/metrics?cursor=${first.body.cursor}`);
    expect(second.body.records).toEqual([trainRecord(3, 2.8), validationRecord(3, 2.9)]);

    const unchanged = await json<TrainingMetricsPage>(`/api/train/runs/live/metrics?cursor=${second.body.cursor}`);
    expect(unchanged.body.records).toEqual([]);
    expect(unchanged.body.cursor).toBe(second.body.cursor);

    // A resumed run rewrites the file (keepThrough) and renames it over the old one.
    writeFileSync(join(runningFolder, "metrics.new"), `${JSON.stringify(trainRecord(1, 3.5))}\n`);
    renameSync(join(runningFolder, "metrics.new"), join(runningFolder, "metrics.jsonl"));
    const replaced = await json<TrainingMetricsPage>(`/api/train/runs/live/metrics?cursor=${second.body.cursor}`);
    expect(replaced.body.reset).toBe(true);
    expect(replaced.body.records).toEqual([trainRecord(1, 3.5)]);
  });

  it("refuse a malformed cursor by name", async () => {
    const { status, body } = await json("/api/train/runs/live/metrics?cursor=../etc");
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ type: "invalid_request_error", param: "cursor" });
  });

  it("let no run or file name leave the runs folder", async () => {
    for (const name of ["..", "%2e%2e", "..%2Foutside", "%2E%2E%2Foutside", "a%2Fb", "outside%00", "not-a-run%5C..%5C..%5Coutside", "nope"]) {
      for (const suffix of ["", "/metrics", "/files/recipe.yaml"]) {
        const { status, body } = await json(`/api/train/runs/${name}${suffix}`);
        expect({ name, suffix, status }).toEqual({ name, suffix, status: 404 });
        expect(body.error.type).toBe("not_found_error");
      }
    }
    for (const file of ["..%2F..%2Foutside%2Frecipe.yaml", "%2e%2e", "adapter.gguf", "checkpoint.bin", "constructor", "__proto__"]) {
      expect((await json(`/api/train/runs/done/files/${file}`)).status).toBe(404);
    }
  });

  it("serve a finished run's adapter as a new model that answers, differently from its base model", async () => {
    const refused = await post("/api/train/runs/live/serve");
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/no adapter to serve yet \(it is running/);

    const served = await post<ServedAdapter>("/api/train/runs/done/serve");
    expect(served.status).toBe(201);
    expect(served.body).toMatchObject({ id: "stories260K+done", run: "done", base: stories260KPath() });
    const models = await json<ModelList>("/v1/models");
    expect(models.body.data.map((model) => model.id)).toEqual(["stories260K", "stories260K+done"]);
    expect((await json<TrainingRunList>("/api/train/runs")).body.data.find((run) => run.name === "done")?.served_as).toBe("stories260K+done");

    const complete = async (model: string) => {
      const { status, body } = await post<TextCompletion>("/v1/completions", { model, prompt: "Once upon a time", max_tokens: 12, temperature: 0 });
      expect(status).toBe(200);
      return body.choices[0].text;
    };
    const withAdapter = await complete("stories260K+done");
    expect(withAdapter.length).toBeGreaterThan(0);
    expect(withAdapter).not.toBe(await complete("stories260K"));

    const again = await post("/api/train/runs/done/serve");
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/already served/);
    const named = await post("/api/train/runs/done/serve", { id: "../../x y" });
    expect(named.status).toBe(400);
    expect(named.body.error.param).toBe("id");
  });

  it("with API keys, lets only an admin key serve an adapter (it adds a model for everyone)", async () => {
    const keys = [
      { name: "user", sha256: hashApiKey("user-key-123"), revoked: false },
      { name: "boss", sha256: hashApiKey("boss-key-123"), revoked: false, admin: true },
    ];
    const keyed = createServerApp({ registry: new ModelRegistry([]), trainingRuns: { directory: join(dataDir, "runs"), adapterModel: (model) => localModelSpec(model.id, model.path, model.lora) }, apiKeys: keys }).app;
    const serve = (key?: string) => keyed.request("/api/train/runs/done/serve", { method: "POST", headers: key ? { authorization: `Bearer ${key}` } : {} });
    expect((await serve()).status).toBe(401);
    expect((await keyed.request("/api/train/runs")).status).toBe(401);
    const user = await serve("user-key-123");
    expect(user.status).toBe(403);
    expect(((await user.json()) as OpenAIErrorBody).error.message).toMatch(/needs an admin API key/);
    expect((await keyed.request("/api/train/runs", { headers: { authorization: "Bearer user-key-123" } })).status).toBe(200);
    expect((await serve("boss-key-123")).status).toBe(201);
  });

  it("cannot serve without a way to load local models", async () => {
    const bare = createServerApp({ registry: new ModelRegistry([]), trainingRuns: { directory: join(dataDir, "runs") } }).app;
    const response = await bare.request("/api/train/runs/done/serve", { method: "POST" });
    expect(response.status).toBe(409);
  });
});

describe("evaluation result routes", () => {
  it("list result folders and show eval show's reports for each judgment file", async () => {
    const list = await json<EvalResultList>("/api/eval/results");
    expect(list.body.data).toEqual([{ name: "mt-bench", judgment_files: ["model_judgment/judge-4_pair.jsonl", "model_judgment/judge-4_single.jsonl"], updated: expect.any(String) }]);
    const { status, body } = await json<EvalResultsDetail>("/api/eval/results/mt-bench");
    expect(status).toBe(200);
    expect(body).toMatchObject({ questions: 3, models: ["strong", "weak"], problems: [] });
    // the same tables and charts as `camelid eval show --judgments <file> --questions question.jsonl`
    const folder = join(dataDir, "eval", "mt-bench");
    const questions = { list: loadQuestions(join(folder, "question.jsonl")), path: "question.jsonl" };
    for (const file of ["judge-4_pair.jsonl", "judge-4_single.jsonl"]) {
      const [expected] = showReports(loadJudgmentFile(join(folder, "model_judgment", file)), { questions });
      const shown = body.reports.find((report) => report.file === `model_judgment/${file}`);
      expect(shown?.tables).toEqual(expected.report.tables);
      expect(shown?.charts).toEqual(expected.charts);
      expect(shown?.judge).toBe("judge-4");
    }
    const single = body.reports.find((report) => report.kind === "single");
    expect(single?.tables[0].rows.map((row) => row.slice(0, 2))).toEqual([["strong", "8.00"], ["weak", "2.00"]]);
    expect(single?.charts.map((chart) => chart.fileName)).toEqual(["category-radar.svg"]);
  });

  it("browse question by question: the question, each model's answer, every judge's reasoning and verdict", async () => {
    const list = await json<EvalQuestionList>("/api/eval/results/mt-bench/questions");
    expect(list.body.categories).toEqual(["writing", "roleplay", "stem"]);
    const id = list.body.questions[0].question_id;
    const { status, body } = await json<EvalQuestionDetail>(`/api/eval/results/mt-bench/questions/${id}`);
    expect(status).toBe(200);
    expect(body.question).toMatchObject({ question_id: id, category: "writing" });
    expect(body.question.turns).toHaveLength(2);
    expect(body.answers).toEqual([
      { model: "strong", turns: [`A thorough answer to question ${id}.`, `A careful follow-up to question ${id}.`], prompt_format: null },
      { model: "weak", turns: ["Dunno.", "Still dunno."], prompt_format: null },
    ]);
    const pairwise = body.judgments.find((judgment) => judgment.kind === "pairwise");
    expect(pairwise?.verdict).toBe("Game 1: strong; game 2: strong");
    expect(pairwise?.games.map((game) => game.judgment)).toEqual([
      `Assistant A explains question ${id} well; B does not. [[A]]`,
      `Assistant B explains question ${id} well; A does not. [[B]]`,
    ]);
    const grades = body.judgments.filter((judgment) => judgment.kind === "single").map((judgment) => [judgment.models[0], judgment.verdict]);
    expect(grades).toEqual([["strong", "Rating: 8"], ["weak", "Rating: 2"]]);
    expect((await json("/api/eval/results/mt-bench/questions/999999")).status).toBe(404);
  });

  it("read a result folder again once a judge run appended to it", async () => {
    const { questions } = writeMtBenchResults(join(dataDir, "eval"), "growing");
    const singleTable = async () => (await json<EvalResultsDetail>("/api/eval/results/growing")).body.reports.find((report) => report.kind === "single")?.tables[0];
    expect((await singleTable())?.headers).toContain("turn 1");
    expect((await singleTable())?.headers).not.toContain("turn 2");
    const row = { question_id: questions[0].question_id, model: "weak", judge: ["judge-4", "single-v1-multi-turn"], user_prompt: "…", judgment: "Better. Rating: [[5]]", score: 5, turn: 2, repeat: 0 };
    writeFileSync(join(dataDir, "eval", "growing", "model_judgment", "judge-4_single.jsonl"), `${JSON.stringify(row)}\n`, { flag: "a" });
    expect((await singleTable())?.headers).toContain("turn 2");
    const detail = await json<EvalQuestionDetail>(`/api/eval/results/growing/questions/${questions[0].question_id}`);
    expect(detail.body.judgments.filter((judgment) => judgment.turn === 2).map((judgment) => judgment.verdict)).toEqual(["Rating: 5"]);
    rmSync(join(dataDir, "eval", "growing"), { recursive: true });
  });

  it("name a damaged judgment file and still show the others", async () => {
    const folder = join(dataDir, "eval", "damaged");
    mkdirSync(join(folder, "model_judgment"), { recursive: true });
    writeFileSync(join(folder, "model_judgment", "broken.jsonl"), "{not json\n");
    const { status, body } = await json<EvalResultsDetail>("/api/eval/results/damaged");
    expect(status).toBe(200);
    expect(body.reports).toEqual([]);
    expect(body.problems).toEqual([{ file: "model_judgment/broken.jsonl", message: expect.stringMatching(/^model_judgment\/broken\.jsonl:1: not valid JSON/) }]);
    expect(JSON.stringify(body)).not.toContain(dataDir);
    rmSync(folder, { recursive: true });
  });

  it("let no result name leave the eval folder", async () => {
    mkdirSync(join(dataDir, "model_judgment"), { recursive: true });
    for (const name of ["..", "%2e%2e", "..%2Fruns", "a%2Fb", "mt-bench%00"]) {
      for (const suffix of ["", "/questions", "/questions/81"]) {
        expect({ name, suffix, status: (await json(`/api/eval/results/${name}${suffix}`)).status }).toEqual({ name, suffix, status: 404 });
      }
    }
  });
});
