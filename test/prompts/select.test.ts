import { describe, expect, it } from "vitest";
import { PromptFormatError } from "../../src/errors/index.js";
import { FALLBACK_PROMPT_FORMAT, resolvePromptFormat } from "../../src/prompts/index.js";

const CHATML_TEMPLATE = String.raw`{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}`;
const hi = [{ role: "user" as const, content: "hi" }];

describe("resolvePromptFormat: explicit > model template > name heuristic > fallback", () => {
  it("an explicit registry name wins over the model's template and name", () => {
    const { format, choice } = resolvePromptFormat({ explicit: "alpaca", chatTemplate: CHATML_TEMPLATE, modelName: "vicuna-7b" });
    expect(format.name).toBe("alpaca");
    expect(choice).toEqual({ name: "alpaca", source: "explicit", reason: 'prompt format "alpaca" was requested' });
  });

  it("an unknown explicit name is a PromptFormatError listing the known names", () => {
    expect(() => resolvePromptFormat({ explicit: "vicuna", chatTemplate: CHATML_TEMPLATE })).toThrow(PromptFormatError);
    expect(() => resolvePromptFormat({ explicit: "vicuna" })).toThrow(
      'unknown prompt format "vicuna"; known formats: alpaca, vicuna-v0, vicuna-v1.1, koala, llama-2-chat, chatml, llama-3, gguf-jinja',
    );
  });

  it('explicit "gguf-jinja" uses the model template, and is an error without one', () => {
    const { format, choice } = resolvePromptFormat({ explicit: "gguf-jinja", chatTemplate: CHATML_TEMPLATE, eosToken: "<|im_end|>" });
    expect(choice.source).toBe("explicit");
    expect(format.render(hi).text).toBe("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
    expect(() => resolvePromptFormat({ explicit: "gguf-jinja", modelName: "x" })).toThrow(/has no chat template/);
  });

  it("the model's own template wins over the name heuristic and gets its BOS/EOS", () => {
    const { format, choice } = resolvePromptFormat({ chatTemplate: CHATML_TEMPLATE, modelName: "vicuna-13b-v1.5", eosToken: "<|im_end|>" });
    expect(choice).toEqual({ name: "gguf-jinja", source: "model-template", reason: "the model's tokenizer.chat_template" });
    expect(format.render(hi).stops).toEqual(["<|im_end|>"]);
  });

  it("a template that does not parse is skipped and the reason says so", () => {
    const { choice } = resolvePromptFormat({ chatTemplate: "{% for %}", modelName: "koala-13B" });
    expect(choice.name).toBe("koala");
    expect(choice.source).toBe("heuristic");
    expect(choice.reason).toMatch(/^the model's chat template was not usable \(.*does not parse.*\); model name "koala-13B" looks like Koala$/);
  });

  const names: [string, string][] = [
    ["Meta-Llama-3-8B-Instruct.Q4_K_M.gguf", "llama-3"],
    ["llama-3.1-8b-instruct", "llama-3"],
    ["llama-2-13b-chat.Q4_0.gguf", "llama-2-chat"],
    ["LLaMA2-7B-Chat", "llama-2-chat"],
    ["codellama-7b-instruct", "llama-2-chat"],
    ["vicuna-13b-v1.5", "vicuna-v1.1"],
    ["vicuna-7b-v1.3", "vicuna-v1.1"],
    ["vicuna-13b-delta-v0", "vicuna-v0"],
    ["koala-13B-HF", "koala"],
    ["alpaca-7b-native-enhanced", "alpaca"],
    ["Qwen2-0.5B-Instruct", "chatml"],
    ["OpenHermes-2.5-Mistral-7B", "chatml"],
    ["SmolLM2-135M-Instruct", "chatml"],
  ];
  for (const [modelName, expected] of names) {
    it(`name heuristic: "${modelName}" → ${expected}`, () => {
      const { format, choice } = resolvePromptFormat({ modelName });
      expect(format.name).toBe(expected);
      expect(choice.source).toBe("heuristic");
      expect(choice.reason).toContain(modelName);
    });
  }

  it("uses the architecture when the name says nothing", () => {
    const { choice } = resolvePromptFormat({ modelName: "my-finetune", architecture: "qwen2" });
    expect(choice).toEqual({ name: "chatml", source: "heuristic", reason: 'architecture "qwen2" uses it' });
  });

  it("falls back, saying why, for a base model with no template and an unknown name", () => {
    const { format, choice } = resolvePromptFormat({ modelName: "stories260K", architecture: "llama" });
    expect(format.name).toBe(FALLBACK_PROMPT_FORMAT);
    expect(choice).toEqual({
      name: "chatml",
      source: "heuristic",
      reason: 'the model has no chat template and the name "stories260K" matches no known family: fallback format',
    });
    expect(resolvePromptFormat({}).choice.reason).toMatch(/no model name was given/);
    expect(resolvePromptFormat({ modelName: "llama-2-7b" }).choice.name).toBe("chatml");
  });

  it("the fallback can be chosen by the caller", () => {
    expect(resolvePromptFormat({ modelName: "x", fallback: "vicuna-v1.1" }).format.name).toBe("vicuna-v1.1");
    expect(() => resolvePromptFormat({ modelName: "x", fallback: "nope" })).toThrow(/unknown prompt format "nope"/);
  });
});
