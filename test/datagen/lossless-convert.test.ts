import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/commands/data.js";
import { encodeDataset, readDataset } from "../../src/datagen/formats/dataset-io.js";
import type { DatasetFormat } from "../../src/datagen/formats/records.js";
import { captureIo } from "../support/capture-io.js";
import { sharedPath } from "../support/shared-data.js";

const directory = mkdtempSync(join(tmpdir(), "camelid-lossless-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
const write = (name: string, rows: unknown[]) => {
  const path = join(directory, name);
  writeFileSync(path, name.endsWith(".jsonl") ? rows.map((row) => `${JSON.stringify(row)}\n`).join("") : JSON.stringify(rows));
  return path;
};
const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8"));
const readLines = (path: string) => readFileSync(path, "utf8").trim().split("\n").map((line) => JSON.parse(line));

/** Rows of a file converted to `to` (through a file, as the CLI does) and read back. */
function convert(path: string, to: DatasetFormat, name: string) {
  const dataset = readDataset(path);
  expect(dataset.problems).toEqual([]);
  const out = write(name, encodeDataset(dataset, to).rows);
  return { rows: out.endsWith(".jsonl") ? readLines(out) : readJson(out), path: out };
}

describe("lossless conversion", () => {
  it("alpaca → alpaca, through the CLI, keeps every row as it was: input stays its own field", async () => {
    const source = sharedPath("data", "alpaca", "alpaca_data_first1727.json");
    const out = join(directory, "alpaca-again.json");
    expect(await run(["convert", "--in", source, "--out", out, "--to", "alpaca"], captureIo().io)).toBe(0);
    const original = readJson(source) as { input: string }[];
    expect(original.filter((row) => row.input !== "").length).toBe(779);
    expect(readJson(out)).toEqual(original);
  });

  it("split keeps input as its own field: the parts hold exactly the original rows", async () => {
    const source = sharedPath("data", "alpaca", "alpaca_data_first1727.json");
    const parts = join(directory, "parts");
    expect(await run(["split", "--in", source, "--out-dir", parts, "--ratios", "train=0.8,test=0.2"], captureIo().io)).toBe(0);
    const rows = [...readJson(join(parts, "train.json")), ...readJson(join(parts, "test.json"))];
    const key = (row: unknown) => JSON.stringify(row);
    expect(rows.map(key).sort()).toEqual((readJson(source) as unknown[]).map(key).sort());
  });

  it("Alpaca input becomes Dolly's context and comes back; other formats get the joined message", () => {
    const path = write("with-input.json", [{ instruction: "Add the numbers.", input: "2 and 3", output: "5", id: "n1", source: "demo" }]);
    const dolly = convert(path, "dolly", "dolly.jsonl").rows;
    expect(dolly).toEqual([{ id: "n1", instruction: "Add the numbers.", context: "2 and 3", response: "5", source: "demo" }]);
    expect(convert(join(directory, "dolly.jsonl"), "alpaca", "alpaca-back.json").rows).toEqual([{ id: "n1", instruction: "Add the numbers.", input: "2 and 3", output: "5", source: "demo" }]);
    expect(convert(path, "sharegpt", "joined.json").rows[0].conversations[0].value).toBe("Add the numbers.\n\n2 and 3");
  });

  it("ids survive every format that has them, numbers included (as strings)", () => {
    const sharegpt = sharedPath("data", "sharegpt", "dummy_conversation.json");
    const ids = (readJson(sharegpt) as { id: string }[]).map((row) => row.id);
    const openai = convert(sharegpt, "openai", "ids.jsonl");
    expect(openai.rows.map((row: { id: string }) => row.id)).toEqual(ids);
    const back = convert(openai.path, "sharegpt", "ids-back.json").rows;
    expect(back).toEqual(readJson(sharegpt));
    const alpaca = write("alpaca-ids.json", [{ id: 7, instruction: "a", input: "", output: "b" }]);
    expect(convert(alpaca, "sharegpt", "alpaca-ids-sharegpt.json").rows[0].id).toBe("7");
    const dpo = write("dpo-ids.jsonl", [{ id: "p1", prompt: "Q?", chosen: "good", rejected: "bad" }]);
    expect(convert(dpo, "dpo", "dpo-ids-out.json").rows[0].id).toBe("p1");
    expect(convert(dpo, "sharegpt", "dpo-ids-sft.json").rows[0].id).toBe("p1");
  });

  it("DPO rows keep their extra fields, both layouts; the published set round-trips unchanged", () => {
    const published = sharedPath("data", "llama-factory", "dpo_en_demo.json");
    expect(convert(published, "dpo", "dpo-again.json").rows).toEqual(readJson(published));
    const sharegptStyle = write("dpo-extra.json", [{ conversations: [{ from: "human", value: "Q?" }], chosen: { from: "gpt", value: "good" }, rejected: { from: "gpt", value: "bad" }, source: "ultrafeedback", margin: 2.5 }]);
    expect(convert(sharegptStyle, "dpo", "dpo-extra-out.json").rows[0]).toEqual(readJson(sharegptStyle)[0]);
    const flat = write("dpo-flat.jsonl", [{ prompt: "Q?", chosen: "good", rejected: "bad", source: "hh", scores: [1, 0] }]);
    expect(convert(flat, "dpo", "dpo-flat-out.json").rows[0]).toMatchObject({ source: "hh", scores: [1, 0], chosen: { value: "good" } });
  });

  it("several ShareGPT system messages keep their positions, in ShareGPT and in OpenAI messages", () => {
    const conversations = [
      { from: "system", value: "Be brief." },
      { from: "human", value: "Hi" },
      { from: "gpt", value: "Hello." },
      { from: "system", value: "From now on answer in French." },
      { from: "human", value: "Thanks" },
      { from: "gpt", value: "De rien." },
    ];
    const path = write("systems.json", [{ id: "s", conversations }]);
    expect(convert(path, "sharegpt", "systems-again.json").rows).toEqual([{ id: "s", conversations }]);
    const openai = convert(path, "openai", "systems.jsonl");
    expect(openai.rows[0].messages.map((m: { role: string }) => m.role)).toEqual(["system", "user", "assistant", "system", "user", "assistant"]);
    expect(openai.rows[0].messages[3].content).toBe("From now on answer in French.");
    expect(convert(openai.path, "sharegpt", "systems-back.json").rows).toEqual([{ id: "s", conversations }]);
    // Alpaca cannot hold a system message in the middle: the record is reported, not silently flattened.
    expect(encodeDataset(readDataset(path), "alpaca").skipped[0].message).toMatch(/turn 2 is a system message/);
  });

  it("reads content-part arrays (OpenAI's {type, text}, LLaMA-Factory v1's {type, value}) and writes them back unchanged", () => {
    const row = { messages: [{ role: "user", content: [{ type: "text", text: "Look at " }, { type: "text", text: "this." }] }, { role: "assistant", content: "Done.", weight: 1 }] };
    const path = write("parts.jsonl", [row]);
    const dataset = readDataset(path);
    expect(dataset.records[0]).toMatchObject({ turns: [{ role: "user", content: "Look at this." }, { role: "assistant", content: "Done." }] });
    expect(convert(path, "openai", "parts-again.jsonl").rows).toEqual([row]);
    expect(convert(path, "sharegpt", "parts.json").rows[0].conversations[0]).toEqual({ from: "human", value: "Look at this." });
    const v1 = readDataset(sharedPath("data", "llama-factory", "v1_sft_demo.jsonl"));
    expect(v1.problems).toEqual([]);
    expect(v1.records).toHaveLength(500);
    expect(v1.records[0].turns[0].content).toBe("hi");
    const image = write("image.jsonl", [{ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }, { role: "assistant", content: "a cat" }] }, row]);
    expect(readDataset(image).problems[0].message).toMatch(/messages\.0\.content\.0: a "image_url" content part has no text form/);
  });

  it("reads LLaMA-Factory/glaive tool turns: ShareGPT → ShareGPT unchanged, → OpenAI tool_calls and tool messages, and back", () => {
    const glaive = sharedPath("data", "llama-factory", "glaive_toolcall_en_demo.json");
    const dataset = readDataset(glaive);
    expect(dataset.problems).toEqual([]);
    expect(dataset.records).toHaveLength(300);
    expect(convert(glaive, "sharegpt", "glaive-again.json").rows).toEqual(readJson(glaive));
    const openai = convert(glaive, "openai", "glaive.jsonl");
    const messages = openai.rows[0].messages as { role: string; content: string | null; tool_calls?: { function: { name: string; arguments: string } }[] }[];
    expect(messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant", "tool", "assistant", "user", "assistant"]);
    expect(messages[3]).toMatchObject({ content: null, tool_calls: [{ type: "function", function: { name: "search_recipes" } }] });
    expect(JSON.parse(messages[3].tool_calls![0].function.arguments)).toEqual({ ingredients: ["chicken", "bell peppers", "rice"] });
    expect(openai.rows[0].tools).toBe(readJson(glaive)[0].tools);
    expect(convert(openai.path, "sharegpt", "glaive-back.json").rows).toEqual(readJson(glaive));
    // An OpenAI conversation with a tool call round-trips as it was, and Alpaca refuses it by name.
    const call = { messages: [{ role: "user", content: "Weather?" }, { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "weather", arguments: "{\"city\":\"Oslo\"}" } }] }, { role: "tool", tool_call_id: "c1", content: "{\"c\":3}" }, { role: "assistant", content: "3 °C." }] };
    const callPath = write("call.jsonl", [call]);
    expect(convert(callPath, "openai", "call-again.jsonl").rows).toEqual([call]);
    expect(encodeDataset(readDataset(callPath), "alpaca").skipped[0].message).toMatch(/turn 1 is a function_call message/);
  });
});
