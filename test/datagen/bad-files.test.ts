import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { firstInvalidUtf8 } from "../../src/datagen/formats/json-rows.js";
import { InvalidUtf8Error, NoUsableRowsError, NotRowsError, TruncatedJsonError } from "../../src/datagen/formats/data-file-errors.js";
import { run } from "../../src/cli/commands/data.js";
import { readTrainingDataset } from "../../src/train/dataset.js";
import { promptsFromFile } from "../../src/datagen/distill/prompts-file.js";
import { captureIo } from "../support/capture-io.js";

const directory = mkdtempSync(join(tmpdir(), "camelid-bad-files-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
const write = (name: string, content: string | Buffer) => {
  const path = join(directory, name);
  writeFileSync(path, content);
  return path;
};

// "é" is C3 A9; a lone C3 followed by "x" is not UTF-8. The bad byte is at offset 54, on line 2.
const badUtf8 = Buffer.concat([Buffer.from('[{"instruction":"a","output":"b"},\n{"instruction":"caf'), Buffer.from([0xc3]), Buffer.from('x","output":"d"}]')]);
const files = {
  utf8: { name: "latin1.json", content: badUtf8, error: InvalidUtf8Error, message: /invalid UTF-8 at byte 54 \(line 2\)/ },
  truncated: { name: "cut.json", content: '[\n  {"instruction": "a", "output": "b"},\n  {"instruction": "c", "outp', error: TruncatedJsonError, message: /truncated JSON: the row starting on line 3 is cut off inside a string/ },
  truncatedJsonl: { name: "cut.jsonl", content: '{"instruction": "a", "output": "b"}\n{"instruction": "c", "output": "d', error: TruncatedJsonError, message: /truncated JSON: the last row stops mid-value \(line 2\)/ },
  object: { name: "object.json", content: '{\n  "data": [\n    {"instruction": "a", "output": "b"}\n  ]\n}\n', error: NotRowsError, message: /one JSON object \(its "data" field holds an array: extract it\), not a JSON array of rows/ },
  empty: { name: "empty.json", content: "[]\n", error: NoUsableRowsError, message: /no usable rows: the file holds no rows/ },
  allBad: { name: "all-bad.jsonl", content: '{"instruction": 1, "output": "b"}\n{"text": "x"}\n', error: NoUsableRowsError, message: /no usable rows/ },
};

const commands: Record<string, (input: string) => string[]> = {
  convert: (input) => ["convert", "--in", input, "--out", join(directory, "out.json"), "--to", "sharegpt", "--from", "alpaca"],
  clean: (input) => ["clean", "--in", input, "--out", join(directory, "clean.json"), "--from", "alpaca"],
  split: (input) => ["split", "--in", input, "--out-dir", join(directory, "parts"), "--from", "alpaca"],
  stats: (input) => ["stats", "--in", input, "--from", "alpaca"],
  filter: (input) => ["filter", "--in", input, "--out", join(directory, "kept.json"), "--no-seeds"],
};

describe("bad data files get a named error and a non-zero exit", () => {
  it("finds the first invalid UTF-8 sequence (overlong, surrogate, truncated, stray continuation)", () => {
    expect(firstInvalidUtf8(Buffer.from("héllo ✓ 😀"))).toBe(-1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xc0, 0xaf]))).toBe(1); // overlong "/"
    expect(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0); // a UTF-16 surrogate
    expect(firstInvalidUtf8(Buffer.from([0x61, 0x62, 0xe2, 0x9c]))).toBe(2); // cut short
    expect(firstInvalidUtf8(Buffer.from([0x61, 0x80]))).toBe(1);
  });

  for (const [kind, file] of Object.entries(files)) {
    for (const [command, argv] of Object.entries(commands)) {
      if (command === "filter" && kind === "allBad") continue; // filter reads any row with an instruction
      it(`${command}: ${kind}`, async () => {
        const input = write(`${command}-${file.name}`, file.content);
        await expect(run(argv(input), captureIo().io)).rejects.toSatisfy((error: unknown) => error instanceof file.error && file.message.test((error as Error).message));
        const { io, stderr } = captureIo();
        expect(await main(["data", ...argv(input)], io)).toBe(1);
        expect(stderr()).toMatch(file.message);
        expect(stderr()).toContain(input);
      });
    }
  }

  it("filter: a file with no row holding an instruction", async () => {
    const input = write("no-instructions.jsonl", '{"text": "x"}\n{"prompt": "y"}\n');
    const { io, stderr } = captureIo();
    expect(await main(["data", "filter", "--in", input, "--out", join(directory, "kept.json"), "--no-seeds"], io)).toBe(1);
    expect(stderr()).toMatch(/no usable rows: none of its 2 rows has a string "instruction"/);
  });

  it("distill's prompts file goes through the same reader, naming --prompts", () => {
    expect(() => promptsFromFile(write("prompts-latin1.json", badUtf8))).toThrow(InvalidUtf8Error);
    expect(() => promptsFromFile(write("prompts-latin1.json", badUtf8))).toThrow(expect.objectContaining({ parameter: "prompts" }));
    expect(() => promptsFromFile(write("prompts-cut.jsonl", files.truncatedJsonl.content))).toThrow(TruncatedJsonError);
    expect(() => promptsFromFile(write("prompts-empty.json", "[]\n"))).toThrow(NoUsableRowsError);
  });

  it("training data goes through the same reader", () => {
    expect(() => readTrainingDataset(write("train-latin1.json", badUtf8))).toThrow(InvalidUtf8Error);
    expect(() => readTrainingDataset(write("train-cut.json", files.truncated.content))).toThrow(TruncatedJsonError);
    expect(() => readTrainingDataset(write("train-object.json", files.object.content))).toThrow(NotRowsError);
    expect(() => readTrainingDataset(write("train-bad.jsonl", files.allBad.content), { format: "alpaca" })).toThrow(NoUsableRowsError);
  });
});
