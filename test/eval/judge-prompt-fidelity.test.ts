import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Answer } from "../../src/eval/data/answers.js";
import { loadAnswerFile } from "../../src/eval/data/answers.js";
import { loadJudgePrompts } from "../../src/eval/data/judge-prompts.js";
import { loadQuestions } from "../../src/eval/data/questions.js";
import { pairwiseJudgmentRowSchema, singleJudgmentRowSchema } from "../../src/eval/judge/judgment-rows.js";
import { runJudge } from "../../src/eval/judge/run-judge.js";
import type { CallOptions } from "../../src/spec/index.js";
import { scriptedModel } from "../support/scripted-model.js";
import { sharedPath } from "../support/shared-data.js";
import { temporaryDirectory } from "./fixtures.js";

/*
 * An independent re-implementation of what FastChat's llm_judge sends its judge (common.py
 * run_judge_single / run_judge_pair, gen_judgment.py make_judge_single / make_judge_pairwise),
 * built straight from the raw JSON of ../shared/eval, compared with every prompt camelid sends.
 */

type Json = Record<string, unknown>;
const readRaw = (path: string): Json[] => readFileSync(path, "utf8").split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as Json);

/** Python's str.format with keyword arguments only, character by character. */
function pythonFormat(template: string, kwargs: Record<string, string>): string {
  let out = "";
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c === "{" && template[i + 1] === "{") {
      out += "{";
      i++;
    } else if (c === "}" && template[i + 1] === "}") {
      out += "}";
      i++;
    } else if (c === "{") {
      const end = template.indexOf("}", i);
      const key = template.slice(i + 1, end);
      if (!(key in kwargs)) throw new Error(`KeyError: '${key}'`);
      out += kwargs[key];
      i = end;
    } else if (c === "}") {
      throw new Error("ValueError: Single '}' encountered in format string");
    } else out += c;
  }
  return out;
}

const NEED_REF_CATS = ["math", "reasoning", "coding"];
const judgePromptRows = new Map(readRaw(sharedPath("eval", "judge_prompts.jsonl")).map((row) => [row.name as string, row]));
const rawQuestions = readRaw(sharedPath("eval", "mt_bench", "question.jsonl"));
const rawReferences = new Map(readRaw(sharedPath("eval", "mt_bench", "reference_answer", "gpt-4.jsonl")).map((row) => [row.question_id as number, row]));
const turnsOf = (answer: Json): string[] => ((answer.choices as Json[])[0].turns as string[]);

/** conv.to_openai_api_messages() after set_system_message + append_message. */
const openaiMessages = (system: string, user: string) => [...(system === "" ? [] : [{ role: "system", content: system }]), { role: "user", content: user }];

function refKwargs(question: Json): Record<string, string> {
  if (!NEED_REF_CATS.includes(question.category as string)) return {};
  const ref = turnsOf(rawReferences.get(question.question_id as number)!);
  return { ref_answer_1: ref[0], ref_answer_2: ref[1] };
}

function fastchatSingle(question: Json, answer: Json, multiTurn: boolean) {
  const ref = NEED_REF_CATS.includes(question.category as string);
  const name = `${ref ? "single-math-v1" : "single-v1"}${multiTurn ? "-multi-turn" : ""}`;
  const template = judgePromptRows.get(name)!;
  const q = question.turns as string[];
  const a = turnsOf(answer);
  const user = multiTurn
    ? pythonFormat(template.prompt_template as string, { question_1: q[0], question_2: q[1], answer_1: a[0], answer_2: a[1], ...refKwargs(question) })
    : pythonFormat(template.prompt_template as string, { question: q[0], answer: a[0], ...refKwargs(question) });
  return { name, user, messages: openaiMessages(template.system_prompt as string, user) };
}

function fastchatPair(question: Json, answerA: Json, answerB: Json, multiTurn: boolean) {
  const ref = NEED_REF_CATS.includes(question.category as string);
  const name = `${ref ? "pair-math-v1" : "pair-v2"}${multiTurn ? "-multi-turn" : ""}`;
  const template = judgePromptRows.get(name)!;
  const q = question.turns as string[];
  const a = turnsOf(answerA);
  const b = turnsOf(answerB);
  const user = multiTurn
    ? pythonFormat(template.prompt_template as string, { question_1: q[0], question_2: q[1], answer_a_1: a[0], answer_b_1: b[0], answer_a_2: a[1], answer_b_2: b[1], ...refKwargs(question) })
    : pythonFormat(template.prompt_template as string, { question: q[0], answer_a: a[0], answer_b: b[0], ...refKwargs(question) });
  return { name, user, messages: openaiMessages(template.system_prompt as string, user) };
}

/** Three models whose answers hold what trips naive template filling: placeholders, braces, `$&`, empty turns. */
const models = ["braces", "plain", "tricky"];
function syntheticAnswer(model: string, question: Json): Json {
  const id = question.question_id as number;
  const q = question.turns as string[];
  const turns =
    model === "braces"
      ? [`def f(x):\n    return {"id": ${id}, "q": {question}}  # {{answer}} {ref_answer_1}`, `${q[1].slice(0, 30)} $& $1 $\` {answer_a_1} }`]
      : model === "plain"
        ? [`Answer to question ${id}: ${q[0].slice(0, 40)}`, id % 7 === 0 ? "" : `Second answer ${id}.`]
        : [`{ ${id} } \\n \\u0041 ${"é🦙"}`, `{{ {ref_answer_2} }} ${id}`];
  return { question_id: id, model_id: model, choices: [{ index: 0, turns }] };
}

const rawAnswers = new Map(models.map((model) => [model, new Map(rawQuestions.map((question) => [question.question_id as number, syntheticAnswer(model, question)]))]));
/** The same answers as camelid loads them. */
const answers = new Map(
  models.map((model) => [model, new Map([...rawAnswers.get(model)!].map(([id, raw]): [string, Answer] => [String(id), { questionId: id, modelId: model, turns: turnsOf(raw) }]))]),
);

const directory = temporaryDirectory();
afterAll(() => directory.remove());
const questions = loadQuestions(sharedPath("eval", "mt_bench", "question.jsonl"));
const references = loadAnswerFile(sharedPath("eval", "mt_bench", "reference_answer", "gpt-4.jsonl")).answers;
const judgePrompts = loadJudgePrompts(sharedPath("eval", "judge_prompts.jsonl"));
const recordingJudge = () => scriptedModel({ modelId: "gpt-4", reply: () => "Rating: [[5]] [[C]]" });
const serialize = (calls: CallOptions[]) => calls.map((call) => JSON.stringify(call.messages)).sort();
const rowsOf = <T>(path: string, parse: (value: unknown) => T): T[] => readFileSync(path, "utf8").trim().split("\n").map((line) => parse(JSON.parse(line)));

describe("MT-bench judge prompts are byte-identical to FastChat's .format()", () => {
  it("all 480 single-grading prompts (single-v1, single-math-v1 and their multi-turn forms, GPT-4 references)", async () => {
    const judge = recordingJudge();
    const outputPath = join(directory.path, "single.jsonl");
    await runJudge({ judge, questions, answers, mode: { kind: "single" }, judgePrompts, references, outputPath, call: { retries: 0 } });
    const expected = rawQuestions.flatMap((question) => models.flatMap((model) => [false, true].map((multiTurn) => ({ model, question, multiTurn, ...fastchatSingle(question, rawAnswers.get(model)!.get(question.question_id as number)!, multiTurn) }))));
    expect(expected).toHaveLength(480);
    expect(judge.calls).toHaveLength(480);
    expect(serialize(judge.calls)).toEqual(expected.map((e) => JSON.stringify(e.messages)).sort());
    const rows = rowsOf(outputPath, (v) => singleJudgmentRowSchema.parse(v));
    for (const e of expected) {
      const row = rows.find((r) => r.model === e.model && r.question_id === e.question.question_id && r.turn === (e.multiTurn ? 2 : 1))!;
      expect([row.judge[1], row.user_prompt]).toEqual([e.name, e.user]);
    }
    // Every math/reasoning/coding prompt carries the GPT-4 reference, not the question file's short one.
    const withReference = expected.filter((e) => e.name.startsWith("single-math"));
    expect(withReference).toHaveLength(180);
    for (const e of withReference) expect(e.user).toContain(turnsOf(rawReferences.get(e.question.question_id as number)!)[0]);
  });

  it("all 960 pairwise prompts (pair-v2, pair-math-v1 and their multi-turn forms, both orders of every pair)", async () => {
    const judge = recordingJudge();
    const outputPath = join(directory.path, "pair.jsonl");
    await runJudge({ judge, questions, answers, mode: { kind: "pairwise-all" }, judgePrompts, references, outputPath, call: { retries: 0 } });
    const pairs: Array<[string, string]> = [["braces", "plain"], ["braces", "tricky"], ["plain", "tricky"]];
    const expected = rawQuestions.flatMap((question) =>
      pairs.flatMap(([m1, m2]) =>
        [false, true].map((multiTurn) => {
          const a1 = rawAnswers.get(m1)!.get(question.question_id as number)!;
          const a2 = rawAnswers.get(m2)!.get(question.question_id as number)!;
          return { m1, m2, question, multiTurn, game1: fastchatPair(question, a1, a2, multiTurn), game2: fastchatPair(question, a2, a1, multiTurn) };
        }),
      ),
    );
    expect(expected.length * 2).toBe(960);
    expect(judge.calls).toHaveLength(960);
    expect(serialize(judge.calls)).toEqual(expected.flatMap((e) => [JSON.stringify(e.game1.messages), JSON.stringify(e.game2.messages)]).sort());
    const rows = rowsOf(outputPath, (v) => pairwiseJudgmentRowSchema.parse(v));
    for (const e of expected) {
      const row = rows.find((r) => r.model_1 === e.m1 && r.model_2 === e.m2 && r.question_id === e.question.question_id && r.turn === (e.multiTurn ? 2 : 1))!;
      expect([row.judge[1], row.g1_user_prompt, row.g2_user_prompt]).toEqual([e.game1.name, e.game1.user, e.game2.user]);
    }
  });

  it("uses the question file's own reference only when asked (--question-references)", async () => {
    const judge = recordingJudge();
    const math = questions.filter((q) => q.questionId === 111);
    await runJudge({ judge, questions: math, answers, mode: { kind: "single" }, judgePrompts, references, referenceSource: "question-file", outputPath: join(directory.path, "q-ref.jsonl"), call: { retries: 0 } });
    const own = math[0].reference![0];
    expect(own).not.toBe(references.get("111")!.turns[0]);
    expect(judge.calls[0].messages!.at(-1)!.content).toContain(`[The Start of Reference Answer]\n${own}\n`);
  });
});
