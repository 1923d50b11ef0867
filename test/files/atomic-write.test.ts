import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { replaceFileAtomic, writeFileAtomic } from "../../src/files/atomic-write.js";
import { temporaryDirectories } from "../support/temporary-directories.js";

const newDirectory = temporaryDirectories("camelid-atomic-");

describe("atomic file replacement", () => {
  it("replaces the target with what the writer produced and leaves no temporary", async () => {
    const directory = newDirectory();
    const target = join(directory, "out.json");
    writeFileSync(target, "old");
    const result = await replaceFileAtomic(target, async (temporary) => {
      await writeFile(temporary, "new");
      expect(readFileSync(target, "utf8")).toBe("old");
      return 42;
    });
    expect(result).toBe(42);
    expect(readFileSync(target, "utf8")).toBe("new");
    expect(readdirSync(directory)).toEqual(["out.json"]);
  });

  it("keeps the old file and removes the temporary when the writer fails", async () => {
    const directory = newDirectory();
    const target = join(directory, "out.json");
    writeFileSync(target, "old");
    await expect(replaceFileAtomic(target, async (temporary) => {
      await writeFile(temporary, "half");
      throw new Error("disk full");
    })).rejects.toThrow("disk full");
    expect(readFileSync(target, "utf8")).toBe("old");
    expect(readdirSync(directory)).toEqual(["out.json"]);
  });

  it("gives concurrent writers of one target their own temporaries", async () => {
    const directory = newDirectory();
    const target = join(directory, "manifest.json");
    const temporaries: string[] = [];
    await Promise.all(["a", "b", "c"].map((text) => replaceFileAtomic(target, async (temporary) => {
      temporaries.push(temporary);
      await writeFile(temporary, text);
    })));
    expect(new Set(temporaries).size).toBe(3);
    expect(["a", "b", "c"]).toContain(readFileSync(target, "utf8"));
    expect(readdirSync(directory)).toEqual(["manifest.json"]);
  });

  it("writes text or chunks synchronously under a chosen temporary name", () => {
    const directory = newDirectory();
    const target = join(directory, "progress.json");
    writeFileAtomic(target, [new TextEncoder().encode("ab"), new TextEncoder().encode("c")], { temporary: `${target}.tmp` });
    expect(readFileSync(target, "utf8")).toBe("abc");
    expect(existsSync(`${target}.tmp`)).toBe(false);
  });
});
