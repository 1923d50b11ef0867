import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderAlpacaExample } from "../../src/prompts/index.js";
import { sharedPath } from "../support/shared-data.js";

// Stanford Alpaca train.py PROMPT_DICT, copied as published (Python str.format placeholders).
const PROMPT_INPUT =
  "Below is an instruction that describes a task, paired with an input that provides further context. " +
  "Write a response that appropriately completes the request.\n\n" +
  "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:";
const PROMPT_NO_INPUT =
  "Below is an instruction that describes a task. " +
  "Write a response that appropriately completes the request.\n\n" +
  "### Instruction:\n{instruction}\n\n### Response:";

interface AlpacaRecord {
  instruction: string;
  input: string;
  output: string;
}

/** train.py: source = prompt.format_map(example); target = output + eos_token. */
function stanfordSource(record: AlpacaRecord): string {
  const template = record.input !== "" ? PROMPT_INPUT : PROMPT_NO_INPUT;
  return template.replace("{instruction}", () => record.instruction).replace("{input}", () => record.input);
}

describe("renderAlpacaExample on the published Alpaca data", () => {
  const records = JSON.parse(readFileSync(sharedPath("data", "alpaca", "alpaca_data_first1727.json"), "utf8")) as AlpacaRecord[];

  it("renders source + output + EOS exactly as train.py for every record, with and without input", () => {
    let withInput = 0;
    for (const record of records) {
      const rendered = renderAlpacaExample(record);
      expect(rendered.text).toBe(`${stanfordSource(record)}${record.output}</s>`);
      expect(rendered.segments.at(-1)).toMatchObject({ text: "</s>", special: true, trainable: true });
      expect(rendered.segments.filter((segment) => segment.trainable).map((segment) => segment.text).join("")).toBe(`${record.output}</s>`);
      if (record.input !== "") withInput++;
    }
    expect(records.length).toBe(1727);
    expect(withInput).toBeGreaterThan(100);
  });

  it("renders the prompt alone (no output) for generation", () => {
    expect(renderAlpacaExample({ instruction: "Translate to French.", input: "Good morning" }).text).toBe(
      "Below is an instruction that describes a task, paired with an input that provides further context. " +
        "Write a response that appropriately completes the request.\n\n" +
        "### Instruction:\nTranslate to French.\n\n### Input:\nGood morning\n\n### Response:",
    );
  });
});
