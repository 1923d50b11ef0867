import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { convertHfModel } from "../../src/convert/convert-model.js";
import { GgufReader, type GgufValue } from "../../src/gguf/index.js";
import { sharedPath } from "../support/shared-data.js";
import { temporaryDirectories } from "../support/temporary-directories.js";
import { vocabularyFromGguf } from "./gguf-vocabulary.js";
import { writeModelCardFixture } from "./model-card-fixture.js";

// convert_hf_to_gguf.py's general.* keys for the same folder (scripts/golden/make_model_card_golden.py).
type Key = [key: string, type: string, value: unknown];
const golden = JSON.parse(readFileSync(join(import.meta.dirname, "golden", "model-card-metadata.json"), "utf8")) as {
  modelName: string;
  conversions: Record<"default" | "modelName", Key[]>;
};

const newDirectory = temporaryDirectories("camelid-model-card-");
// tokenizer.* keys are another test's business; the shared vocabulary spares reading tokenizer.model
const vocabulary = vocabularyFromGguf(sharedPath("tokenizers", "ggml-vocab-llama-spm.gguf"));

/** A value as gguf-py's GGUFReader reads it back (float32 as the Python float of the stored float32). */
function readBack(value: GgufValue): [string, unknown] {
  if (value.type === "array") {
    const array = value.value;
    if (array.elementType !== "string") throw new Error(`unexpected ${array.elementType} array in general.*`);
    return ["ARRAY[STRING]", array.values];
  }
  return [value.type.toUpperCase(), value.type === "float32" ? Math.fround(value.value) : value.value];
}

async function generalKeys(path: string): Promise<Key[]> {
  const reader = await GgufReader.open(path);
  try {
    return [...reader.header.metadata].filter(([key]) => key.startsWith("general.")).map(([key, value]) => [key, ...readBack(value)]);
  } finally {
    await reader.close();
  }
}

describe("a folder with a model card and _name_or_path converts with convert_hf_to_gguf.py's general.* keys", () => {
  let folder = "";
  let out = "";
  beforeAll(async () => {
    folder = await writeModelCardFixture(newDirectory());
    out = newDirectory();
  });

  it("license, author, description, tags, languages, base models and datasets from README.md; name, organization, basename, size, finetune, version from _name_or_path", async () => {
    const path = join(out, "default.gguf");
    await convertHfModel({ folder, output: path, outputType: "f32", vocabulary });
    expect(await generalKeys(path)).toEqual(golden.conversions.default);
  });

  it("--name replaces only general.name, as --model-name does", async () => {
    const path = join(out, "named.gguf");
    await convertHfModel({ folder, output: path, outputType: "f32", name: golden.modelName, vocabulary });
    expect(await generalKeys(path)).toEqual(golden.conversions.modelName);
  });
});
