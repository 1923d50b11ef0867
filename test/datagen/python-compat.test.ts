import { describe, expect, it } from "vitest";
import { InstructionRuleChecker } from "../../src/datagen/filter/rules.js";
import { selfInstructRules } from "../../src/datagen/self-instruct/self-instruct-pipeline.js";
import { pythonCapitalize, pythonJsonObject, wholeWordPattern } from "../../src/text/python-compat.js";

// Expected values are CPython 3.11's own answers (str.capitalize, re.search, json.dumps) on these strings.
describe("Python semantics the Self-Instruct and Alpaca filters rely on", () => {
  it("str.capitalize(): the first character title-cased, the rest lower-cased in context", () => {
    const python: Record<string, string> = {
      "hELLO WORLD": "Hello world",
      "1ST PLACE": "1st place",
      // Title case, not upper case: digraphs, ligatures, ß, Georgian Mkhedruli, Greek with ypogegrammeni.
      "ǆemal kapetanović": "ǅemal kapetanović",
      "ǅ": "ǅ",
      "ß is sharp": "Ss is sharp",
      "ﬁne print": "Fine print",
      "აბგ": "აბგ",
      "ᾳ ΑΣ": "ᾼ ας",
      // The rest is lower-cased with its context: a word-final capital sigma becomes "ς".
      "ΑΣ ΒΣ": "Ας βς",
      "hΣ": "Hς",
      "İSTANBUL": "İstanbul",
      "\u0301abc ABC": "\u0301abc abc",
      "": "",
    };
    for (const [text, capitalized] of Object.entries(python)) expect(pythonCapitalize(text), JSON.stringify(text)).toBe(capitalized);
  });

  it("re's \\b(word)\\b with IGNORECASE: combining marks are not word characters, simple case folding", () => {
    const words = ["image", "stop", "key", "file", "map", "draw", "go to"];
    // text → which of `words` Python's find_word_in_string finds in it
    const python: [string, string[]][] = [
      ["İmage of a cat", ["image"]], // İ lower-cases (simply) to i
      ["ımage", ["image"]], // ı and i are IGNORECASE equivalents
      ["IMAGE", ["image"]],
      ["ſtop", ["stop"]],
      ["\u212aey", ["key"]], // the Kelvin sign lower-cases to k
      ["fİle and fıle", ["file"]],
      ["ﬁle", []], // no full case folding
      ["mapś", []], // a precomposed letter continues the word
      ["map\u0301", ["map"]], // a combining mark (Mn) does not
      ["draw\u093e", ["draw"]], // nor does a spacing mark (Mc)
      ["\u0301map", ["map"]],
      ["mapa map_ map٣ drawⅫ draw²", []], // letters, "_", and every kind of number (Nd, Nl, No) are word characters
      ["Please go to the store", ["go to"]],
      ["go together", []],
    ];
    for (const [text, found] of python) {
      expect(words.filter((word) => wholeWordPattern(word).test(text)), JSON.stringify(text)).toEqual(found);
    }
  });

  it("Self-Instruct's blacklist rejects an instruction that Python's \\b rejects", () => {
    const checker = new InstructionRuleChecker(selfInstructRules);
    expect(checker.check("Describe the old map\u0301 of the town in detail.")).toMatchObject({ reason: "blacklisted-word", detail: 'contains "map"' });
    expect(checker.check("Describe the İmage in three sentences.")).toMatchObject({ reason: "blacklisted-word", detail: 'contains "image"' });
    expect(checker.check("Describe the mapś of the town in detail.")).toBeUndefined();
  });

  it("json.dumps of a row: ensure_ascii escapes, Python's separators", () => {
    expect(pythonJsonObject({ instruction: "a\"b\\c\n\t\x7f\x01 é 😀 \u2028", input: "", output: "x" })).toBe(
      String.raw`{"instruction": "a\"b\\c\n\t\u007f\u0001 \u00e9 \ud83d\ude00 \u2028", "input": "", "output": "x"}`,
    );
  });
});
