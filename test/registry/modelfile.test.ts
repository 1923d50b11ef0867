// The Modelfile parser: Ollama's syntax (case-insensitive instructions, # comments, "quoted" and
// """triple-quoted""" values), camelid's FORMAT and ADAPTER scale, and an error naming the line for each
// malformed file.
import { describe, expect, it } from "vitest";
import { ModelfileError } from "../../src/registry/errors.js";
import { parseModelfile, renderModelfile } from "../../src/registry/modelfile.js";

describe("parseModelfile", () => {
  it("reads every instruction", () => {
    const modelfile = parseModelfile(
      [
        "# a tiny storyteller",
        "from ./stories260K.gguf",
        "ADAPTER ./adapter.gguf",
        'ADAPTER "./second adapter.gguf" 0.5',
        "FORMAT alpaca",
        'SYSTEM """',
        "You tell short stories.",
        "  Keep them kind.",
        '"""',
        "PARAMETER temperature 0.2",
        "PARAMETER top_k 20",
        "PARAMETER stop \"<|end|>\"",
        "PARAMETER stop ###",
        "PARAMETER num_ctx 256",
        "PARAMETER num_predict 12",
        "PARAMETER seed 7",
      ].join("\n"),
    );
    expect(modelfile.from).toEqual({ reference: "./stories260K.gguf", line: 2 });
    expect(modelfile.adapters).toEqual([
      { path: "./adapter.gguf", scale: 1, line: 3 },
      { path: "./second adapter.gguf", scale: 0.5, line: 4 },
    ]);
    expect(modelfile.format).toEqual({ name: "alpaca", line: 5 });
    // as in Ollama, everything between the triple quotes, line breaks included
    expect(modelfile.system).toBe("\nYou tell short stories.\n  Keep them kind.\n");
    expect(modelfile.sampling).toEqual({ temperature: 0.2, topK: 20, stop: ["<|end|>", "###"], maxTokens: 12, seed: 7 });
    expect(modelfile.contextSize).toBe(256);
  });

  it("keeps a quoted value as written (Ollama unescapes nothing), a quoted one may span lines", () => {
    expect(parseModelfile('FROM m.gguf\nSYSTEM """Be brief."""').system).toBe("Be brief.");
    expect(parseModelfile('FROM m.gguf\nSYSTEM "two\n  lines"').system).toBe("two\n  lines");
    expect(parseModelfile('FROM m.gguf\nPARAMETER stop "\\n"').sampling.stop).toEqual(["\\n"]);
    expect(parseModelfile('FROM m.gguf\nPARAMETER stop "<|im_end|>"\nPARAMETER stop """\n"""').sampling.stop).toEqual(["<|im_end|>", "\n"]);
    expect(parseModelfile("FROM m.gguf\nADAPTER ./my adapter.gguf 0.5").adapters[0]).toMatchObject({ path: "./my adapter.gguf", scale: 0.5 });
    expect(parseModelfile("FROM m.gguf\nSYSTEM Be brief.").system).toBe("Be brief.");
    const template = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}";
    expect(parseModelfile(`FROM m.gguf\nTEMPLATE """${template}"""`).template?.text).toBe(template);
  });

  it("renders a Modelfile that parses back to the same package", () => {
    const source = {
      from: "hf:owner/repo:Q4_K_M",
      adapters: [{ path: "/a b/adapter.gguf", scale: 0.25 }],
      template: "{{ messages[0].content }}\n",
      system: "line one\nline two",
      sampling: { temperature: 0.5, stop: ["\n\n", "User:", 'say "stop"', " padded "], maxTokens: 9 },
      contextSize: 512,
    };
    const parsed = parseModelfile(renderModelfile(source));
    expect(parsed.from.reference).toBe(source.from);
    expect(parsed.adapters.map(({ path, scale }) => ({ path, scale }))).toEqual(source.adapters);
    expect(parsed.template?.text).toBe(source.template);
    expect(parsed.system).toBe(source.system);
    expect(parsed.sampling).toEqual(source.sampling);
    expect(parsed.contextSize).toBe(512);
  });

  const malformed: [string, string, number, RegExp][] = [
    ["an unknown instruction", "FROM m.gguf\n\nFORM m.gguf", 3, /unknown instruction "FORM"/],
    ["an Ollama-only instruction", "FROM m.gguf\nLICENSE MIT", 2, /LICENSE is an Ollama instruction camelid does not support/],
    ["no FROM", "# nothing\nSYSTEM hi", 0, /no FROM line/],
    ["an empty FROM", "FROM", 1, /FROM needs a base model/],
    ["two FROMs", "FROM a.gguf\nFROM b.gguf", 2, /FROM is given twice \(first on line 1\)/],
    ["a bad number", "FROM m.gguf\nPARAMETER temperature hot", 2, /PARAMETER temperature must be a number from 0 to 100, got "hot"/],
    ["an out-of-range value", "FROM m.gguf\nPARAMETER top_p 1.5", 2, /top_p must be a number from 0 to 1/],
    ["a fractional integer", "FROM m.gguf\n# c\nPARAMETER top_k 2.5", 3, /top_k must be an integer/],
    ["a context too small", "FROM m.gguf\nPARAMETER num_ctx 8", 2, /num_ctx must be an integer from 16/],
    ["an unknown parameter", "FROM m.gguf\nPARAMETER mirostat 1", 2, /unknown parameter "mirostat"/],
    ["a parameter without a value", "FROM m.gguf\nPARAMETER seed", 2, /PARAMETER seed needs a value/],
    ["a repeated parameter", "FROM m.gguf\nPARAMETER seed 1\nPARAMETER seed 2", 3, /PARAMETER seed is given twice \(first on line 2\)/],
    ["an unterminated triple quote", 'FROM m.gguf\nSYSTEM """\nhello\n', 2, /unterminated """: the SYSTEM value opened here never closes/],
    ["text after a closing triple quote", 'FROM m.gguf\nSYSTEM """\nhello\n""" extra', 4, /text after the closing """/],
    ["an unterminated quote", 'FROM m.gguf\nSYSTEM "hello\nworld', 2, /unterminated ": the SYSTEM value opened here never closes/],
    ["an unterminated quoted parameter", 'FROM m.gguf\nPARAMETER stop "<|end|>', 2, /unterminated ": the PARAMETER stop value/],
    ["TEMPLATE and FORMAT", 'FROM m.gguf\nFORMAT chatml\nTEMPLATE """{{ x }}"""', 3, /give TEMPLATE or FORMAT, not both \(the other is on line 2\)/],
    ["a FORMAT with two words", "FROM m.gguf\nFORMAT chat ml", 2, /FORMAT takes one prompt-format name/],
    ["an adapter scale out of range", "FROM m.gguf\nADAPTER a.gguf 20", 2, /ADAPTER scale must be a number from -10 to 10, got "20"/],
    ["a bad scale after a quoted path", 'FROM m.gguf\nADAPTER "a b.gguf" strong', 2, /ADAPTER scale must be a number from -10 to 10, got "strong"/],
    ["a parameter with two values", "FROM m.gguf\nPARAMETER seed 1 2", 2, /PARAMETER seed must be an integer, got "1 2"/],
    ["an empty adapter", "FROM m.gguf\nADAPTER", 2, /ADAPTER needs the path/],
  ];
  for (const [what, text, line, message] of malformed) {
    it(`refuses ${what}, naming line ${line}`, () => {
      let caught: unknown;
      try {
        parseModelfile(text, "bot.Modelfile");
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ModelfileError);
      const error = caught as ModelfileError;
      expect(error.line).toBe(line);
      expect(error.message).toMatch(line > 0 ? new RegExp(`^bot\\.Modelfile:${line}: `) : /^bot\.Modelfile: /);
      expect(error.message).toMatch(message);
    });
  }
});
