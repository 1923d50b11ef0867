import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alpacaFormat, getPromptFormat, llama2ChatFormat, renderAlpacaExample, vicunaV11Format } from "../../src/prompts/index.js";
import type { ChatMessage } from "../../src/spec/messages.js";
import { labelledSegments, tokenizeSegments } from "../../src/train/segment-tokens.js";
import { loadGgufTokenizer, type TrainingTokenizer } from "../../src/train/tokenizer.js";
import { sharedPath } from "../support/shared-data.js";
import { charTokenizer } from "./support/char-tokenizer.js";
import { useStories260KVocabulary } from "./support/gguf-pieces.js";

const identity: ChatMessage[] = [
  { role: "user", content: "Who are you?" },
  { role: "assistant", content: "I am Camelid." },
];
const twoTurns: ChatMessage[] = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "Hi" },
  { role: "assistant", content: "Hello." },
  { role: "user", content: "Name?" },
  { role: "assistant", content: "Camelid." },
];

/** The text of the trainable tokens, runs separated by "|" (a masked token between them). */
function trainableRuns(tokens: number[], trainable: Uint8Array, decode: (ids: number[]) => string): string[] {
  const runs: string[] = [];
  let current: number[] = [];
  tokens.forEach((id, i) => {
    if (trainable[i]) current.push(id);
    else if (current.length) {
      runs.push(decode(current));
      current = [];
    }
  });
  if (current.length) runs.push(decode(current));
  return runs;
}

describe("loss masks, hand-checked with a one-token-per-character tokenizer", () => {
  const tokenizer = charTokenizer();

  it("Alpaca: only the response and its EOS are trainable; BOS is added in front", () => {
    const rendered = renderAlpacaExample({ instruction: "Say hi", input: "", output: "Hi!" }, { eosToken: "</s>" });
    const result = tokenizeSegments(rendered, tokenizer);
    if (!result.ok) throw new Error(result.reason);
    const { tokens, trainable } = result.value;
    const prompt = "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nSay hi\n\n### Response:";
    expect(tokens).toEqual([1, ...[...prompt].map((c) => 100 + c.charCodeAt(0)), 100 + 72, 100 + 105, 100 + 33, 2]);
    expect([...trainable]).toEqual([0, ...new Array(prompt.length).fill(0), 1, 1, 1, 1]);
  });

  it("Vicuna v1.1, two turns: each reply with its </s>, the reply's leading space included; USER turns masked", () => {
    const result = tokenizeSegments(vicunaV11Format.render(twoTurns, { addGenerationPrompt: false }), tokenizer);
    if (!result.ok) throw new Error(result.reason);
    const { tokens, trainable } = result.value;
    expect(tokenizer.decode(tokens)).toBe("<s>Be brief. USER: Hi ASSISTANT: Hello.</s>USER: Name? ASSISTANT: Camelid.</s>");
    expect(trainableRuns(tokens, trainable, tokenizer.decode)).toEqual([" Hello.</s>", " Camelid.</s>"]);
    // counted by hand: "<s>" + "Be brief. USER: Hi ASSISTANT:" is 1 + 29 masked tokens, then " Hello.</s>" (8)
    expect(trainable.indexOf(1)).toBe(30);
    expect([...trainable.slice(30, 38)]).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(trainable[38]).toBe(0);
  });

  it("LLaMA-2-chat: <s>[INST] ... [/INST] masked, ' answer </s>' trainable per exchange", () => {
    const result = tokenizeSegments(llama2ChatFormat.render(twoTurns, { addGenerationPrompt: false }), tokenizer);
    if (!result.ok) throw new Error(result.reason);
    const { tokens, trainable } = result.value;
    expect(tokenizer.decode(tokens)).toBe("<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello. </s><s>[INST] Name? [/INST] Camelid. </s>");
    expect(trainableRuns(tokens, trainable, tokenizer.decode)).toEqual([" Hello. </s>", " Camelid. </s>"]);
    expect(tokens.filter((id) => id === 1)).toHaveLength(2); // the format's own BOS per exchange, none added
  });

  it("a token that spans the mask boundary is reported, never trained with a guessed label", () => {
    const merging = charTokenizer({ merges: [":I"] });
    const rendered = alpacaFormat.render(identity, { addGenerationPrompt: false });
    // "### Response:" + "I am..." : the whole text merges ":I", the segments cannot
    const result = tokenizeSegments(rendered, merging);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/segment-by-segment tokens differ from the whole text's at token \d+/);
  });

  it("special text that is not one token of the vocabulary is reported", () => {
    const result = tokenizeSegments(getPromptFormat("chatml").render(identity, { addGenerationPrompt: false }), tokenizer);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain('"<|im_start|>" is not one token');
  });

  it("user text that spells a special token is reported (the whole-text tokenization parses it)", () => {
    const result = tokenizeSegments(vicunaV11Format.render([{ role: "user", content: "say </s>" }, { role: "assistant", content: "no" }], { addGenerationPrompt: false }), tokenizer);
    expect(result.ok).toBe(false);
  });

  it("boundary spaces move to the following segment; same-flag neighbours are joined", () => {
    const segments = labelledSegments([
      { text: "A: ", special: false, trainable: false },
      { text: "B", special: false, trainable: false },
      { text: "ASSISTANT: ", special: false, trainable: false },
      { text: "Hi", special: false, trainable: true },
      { text: "</s>", special: true, trainable: true },
    ]);
    expect(segments).toEqual([
      { text: "A: BASSISTANT:", special: false, trainable: false },
      { text: " Hi", special: false, trainable: true },
      { text: "</s>", special: true, trainable: true },
    ]);
  });
});

describe("loss masks with stories260K's own SentencePiece tokenizer (through llama.cpp)", () => {
  const stories = useStories260KVocabulary();

  it.each([
    ["alpaca", alpacaFormat, ["I am Camelid.</s>"]],
    ["vicuna-v1.1", vicunaV11Format, [" I am Camelid.</s>"]],
    ["llama-2-chat", llama2ChatFormat, [" I am Camelid. </s>"]],
  ] as const)("%s: segments equal the whole text, and exactly the reply is trainable", (_name, format, expected) => {
    const result = tokenizeSegments(format.render(identity, { addGenerationPrompt: false, bosToken: "<s>", eosToken: "</s>" }), stories.tokenizer);
    if (!result.ok) throw new Error(result.reason);
    const { tokens, trainable } = result.value;
    expect(tokens[0]).toBe(1); // BOS
    expect(tokens.at(-1)).toBe(2); // EOS, trainable
    expect(trainable.at(-1)).toBe(1);
    expect(trainableRuns(tokens, trainable, stories.decode)).toEqual(expected);
  });

  it("Vicuna multi-turn: both replies trainable, the second USER turn masked", () => {
    const result = tokenizeSegments(vicunaV11Format.render(twoTurns, { addGenerationPrompt: false }), stories.tokenizer);
    if (!result.ok) throw new Error(result.reason);
    expect(trainableRuns(result.value.tokens, result.value.trainable, stories.decode)).toEqual([" Hello.</s>", " Camelid.</s>"]);
  });
});

describe("with Llama 3's byte-level BPE vocabulary (no dummy-prefix space)", () => {
  let tokenizer: TrainingTokenizer;
  beforeAll(async () => {
    tokenizer = await loadGgufTokenizer(sharedPath("tokenizers", "ggml-vocab-llama-bpe.gguf"));
  });
  afterAll(() => tokenizer?.dispose());

  it("llama-3: each reply and its <|eot_id|> are trainable, headers masked", () => {
    const result = tokenizeSegments(getPromptFormat("llama-3").render(twoTurns, { addGenerationPrompt: false, bosToken: tokenizer.bosToken, eosToken: tokenizer.eosToken }), tokenizer);
    if (!result.ok) throw new Error(result.reason);
    const { tokens, trainable } = result.value;
    const eot = tokenizer.tokenizeSpecial("<|eot_id|>");
    expect(eot).toHaveLength(1);
    const runs: number[][] = [];
    tokens.forEach((id, i) => {
      if (trainable[i] && !trainable[i - 1]) runs.push([]);
      if (trainable[i]) runs.at(-1)!.push(id);
    });
    expect(runs).toEqual([
      [...tokenizer.tokenizeText("Hello.", false), eot[0]],
      [...tokenizer.tokenizeText("Camelid.", false), eot[0]],
    ]);
  });

  it("Alpaca's \"### Response:\" glued to the reply merges \":I\" in this vocabulary: reported, not trained", () => {
    const result = tokenizeSegments(alpacaFormat.render(identity, { addGenerationPrompt: false, bosToken: tokenizer.bosToken, eosToken: tokenizer.eosToken }), tokenizer);
    expect(result.ok).toBe(false);
    // 58255 is ":I" in Llama 3's vocabulary
    if (!result.ok) expect(result.reason).toMatch(/differ from the whole text's at token \d+ of \d+ \(segments \[.*\], whole \[.*58255/);
  });
});
