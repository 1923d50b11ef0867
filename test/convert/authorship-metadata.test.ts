import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { authorshipMetadata, modelIdComponents } from "../../src/convert/authorship-metadata.js";
import { idToTitle } from "../../src/convert/model-name.js";
import { plainValue } from "../../src/gguf/index.js";
import { repoRoot } from "../support/shared-data.js";

// gguf-py's naming heuristics (metadata.py), as scripts/golden/make_model_id_golden.py recorded them.
const golden = JSON.parse(readFileSync(join(repoRoot, "test/convert/golden/model-id-components.json"), "utf8")) as {
  components: { id: string; totalParams: number; fullName: string | null; organization: string | null; basename: string | null; finetune: string | null; version: string | null; sizeLabel: string | null }[];
  titles: Record<string, string>;
  modelCard: { folder: string; files: Record<string, string>; totalParams: number; entries: { key: string; value: unknown }[] };
};

const dir = mkdtempSync(join(tmpdir(), "camelid-authorship-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("gguf-py Metadata heuristics", () => {
  it.each(golden.components.map((c) => [c.id, c.totalParams, c] as const))("get_model_id_components(%j, %d)", (id, total, expected) => {
    const ours = modelIdComponents(id, total);
    const orNull = (value: string | undefined) => value ?? null;
    expect({ fullName: orNull(ours.fullName), organization: orNull(ours.organization), basename: orNull(ours.basename), finetune: orNull(ours.finetune), version: orNull(ours.version), sizeLabel: orNull(ours.sizeLabel) }).toEqual({
      fullName: expected.fullName, organization: expected.organization, basename: expected.basename, finetune: expected.finetune, version: expected.version, sizeLabel: expected.sizeLabel,
    });
  });

  it("id_to_title", () => {
    for (const [text, title] of Object.entries(golden.titles)) expect(idToTitle(text), text).toBe(title);
  });

  it("Metadata.load on a folder with a model card (YAML 1.1, empty strings kept or skipped as GGUFWriter does) and generation_config.json", () => {
    const { folder, files, totalParams, entries } = golden.modelCard;
    const path = join(dir, folder);
    mkdirSync(path, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(path, name), text);
    const ours = authorshipMetadata(path, totalParams).map(([key, value]) => {
      const plain = plainValue(value);
      // gguf-py reads float32 values back as Python floats of the stored float32
      return { key, value: value.type === "float32" ? Math.fround(plain as number) : plain };
    });
    expect(ours).toEqual(entries);
  });
});
