// camelid create → serve → chat: a created model is served under its name with its prompt format, system
// prompt, LoRA adapter and sampling defaults (the request's own values win); list/show/rm know it.
import { copyFileSync, utimesSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { captureIo } from "../support/capture-io.js";
import { strongAdapterValues, writeStories260KAdapter } from "../support/lora-adapter.js";
import { serveInProcess, type ServeInProcess } from "../support/serve-in-process.js";
import { stories260KPath } from "../support/shared-data.js";
import { temporaryDirectories } from "../support/temporary-directories.js";

const newDirectory = temporaryDirectories("camelid-create-");
const SYSTEM = "You are a storyteller who loves cats.";
let folder: string;
let cache: string;
let server: ServeInProcess;

async function camelid(args: string[]) {
  const { io, stdout, stderr } = captureIo("", { CAMELID_HOME: cache });
  const code = await main(args, io);
  return { code, stdout: stdout(), stderr: stderr() };
}

function modelfile(name: string, lines: string[]): string {
  const path = join(folder, name);
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

const packaged = (extra: string[]) => [
  `FROM ${stories260KPath()}`,
  "FORMAT vicuna-v1.1",
  `SYSTEM """${SYSTEM}"""`,
  "# greedy and short unless the request says otherwise",
  "PARAMETER temperature 0",
  "PARAMETER num_predict 6",
  "PARAMETER num_ctx 128",
  ...extra,
];

async function post(path: string, body: unknown): Promise<any> {
  const response = await fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  expect(response.status, await response.clone().text()).toBe(200);
  return response.json();
}

beforeAll(async () => {
  folder = newDirectory();
  cache = join(folder, "cache");
  await writeStories260KAdapter(join(folder, "strong.gguf"), strongAdapterValues);
  expect((await camelid(["create", "storyteller", "-f", modelfile("Storyteller", packaged(["ADAPTER ./strong.gguf"]))])).code).toBe(0);
  expect((await camelid(["create", "plain", "-f", modelfile("Plain", packaged([]))])).code).toBe(0);
  server = await serveInProcess(["--model", "storyteller", "--model", "plain", "--port", "0", "--sequences", "1", "--data-dir", join(folder, "data"), "--cache-dir", cache]);
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

const messages = [{ role: "user", content: "Tell me a story." }];

describe("a created model, served by name", () => {
  it("is listed under its name in /v1/models", async () => {
    const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map((model) => model.id).sort()).toEqual(["plain", "storyteller"]);
  });

  it("renders its format with its system prompt, unless the request brings its own", async () => {
    const rendered = await post("/v1/chat/completions/render", { model: "storyteller", messages });
    expect(rendered.format.name).toBe("vicuna-v1.1");
    expect(rendered.prompt).toBe(`${SYSTEM} USER: Tell me a story. ASSISTANT:`);
    const own = await post("/v1/chat/completions/render", { model: "storyteller", messages: [{ role: "system", content: "Be terse." }, ...messages] });
    expect(own.prompt).toBe("Be terse. USER: Tell me a story. ASSISTANT:");
  });

  it("generates with its sampling defaults under the request's own, and its adapter", async () => {
    const byDefault = await post("/v1/chat/completions", { model: "storyteller", messages });
    const explicit = await post("/v1/chat/completions", { model: "storyteller", messages, temperature: 0, max_tokens: 6 });
    expect(byDefault.usage.completion_tokens).toBeLessThanOrEqual(6);
    expect(byDefault.choices[0].message.content).toBe(explicit.choices[0].message.content);
    const shorter = await post("/v1/chat/completions", { model: "storyteller", messages, max_tokens: 2 });
    expect(shorter.usage.completion_tokens).toBeLessThanOrEqual(2);
    const withoutAdapter = await post("/v1/chat/completions", { model: "plain", messages, max_tokens: 12 });
    const withAdapter = await post("/v1/chat/completions", { model: "storyteller", messages, max_tokens: 12 });
    expect(withAdapter.choices[0].message.content).not.toBe(withoutAdapter.choices[0].message.content);
  });
});

describe("a created model in generate", () => {
  it("renders and generates with its package through --model NAME", async () => {
    const dryRun = await camelid(["generate", "--model", "storyteller", "--user", "Tell me a story.", "--dry-run"]);
    expect(dryRun.code, dryRun.stderr).toBe(0);
    expect(dryRun.stdout + dryRun.stderr).toContain(`${SYSTEM} USER: Tell me a story. ASSISTANT:`);
    const generated = await camelid(["generate", "--model", "storyteller", "--user", "Tell me a story.", "--json"]);
    expect(generated.code, generated.stderr).toBe(0);
    const result = JSON.parse(generated.stdout);
    expect(result.usage.completionTokens).toBeLessThanOrEqual(6);
    const typo = await camelid(["generate", "--model", "storytellr", "--user", "Hi", "--dry-run"]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/no file or created model named "storytellr"; created models: .*storyteller/);
  });

  it("renders a packaged TEMPLATE instead of the base's format", async () => {
    const template = "{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}";
    const path = modelfile("Templated", [`FROM ${stories260KPath()}`, `TEMPLATE """${template}"""`, 'SYSTEM "Be brief."']);
    expect((await camelid(["create", "templated", "-f", path])).code).toBe(0);
    const dryRun = await camelid(["generate", "--model", "templated", "--user", "Hi!", "--dry-run"]);
    expect(dryRun.code, dryRun.stderr).toBe(0);
    expect(dryRun.stdout + dryRun.stderr).toContain(JSON.stringify("<system>Be brief.\n<user>Hi!\n<assistant>"));
    const broken = await camelid(["create", "broken", "-f", modelfile("BadTemplate", [`FROM ${stories260KPath()}`, 'TEMPLATE """{% for m in messages %}"""'])]);
    expect(broken.stderr).toContain("BadTemplate:2: TEMPLATE is not a usable Jinja chat template");
  });
});

describe("list, show and rm of created models", () => {
  it("lists them, shows the package, prints a Modelfile that recreates it, says when a file changed, removes one", async () => {
    const listed = await camelid(["list"]);
    expect(listed.stdout).toMatch(/\nplain\s+\S+ \S+\s+created\s+/);
    expect(listed.stdout).toMatch(new RegExp(`\\nstoryteller\\s+.*created\\s+.*${stories260KPath().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\+ 1 adapter\\(s\\)`));

    const shown = await camelid(["show", "storyteller"]);
    expect(shown.stdout).toContain(`adapter  ${join(folder, "strong.gguf")}  scale 1  sha256 `);
    expect(shown.stdout).toContain("format   vicuna-v1.1");
    expect(shown.stdout).toContain(`system   ${SYSTEM}`);
    expect(shown.stdout).toContain('params   temperature 0, maxTokens 6, contextSize 128');
    expect(shown.stdout).not.toContain("CHANGED");

    const recreated = (await camelid(["show", "storyteller", "--modelfile"])).stdout;
    expect((await camelid(["create", "copy", "-f", modelfile("Copy", [recreated])])).code).toBe(0);
    const original = JSON.parse((await camelid(["show", "storyteller", "--json"])).stdout);
    const copy = JSON.parse((await camelid(["show", "copy", "--json"])).stdout);
    expect({ ...copy, name: "storyteller", createdAt: original.createdAt, from: original.from }).toEqual(original);

    // an adapter rewritten with other bytes (same size, new mtime) is reported
    const adapter = join(folder, "strong.gguf");
    copyFileSync(adapter, join(folder, "strong.bak"));
    await writeStories260KAdapter(adapter, (i) => Math.sin(i));
    utimesSync(adapter, new Date(), new Date(Date.now() + 5_000));
    expect((await camelid(["show", "storyteller"])).stdout).toMatch(/strong\.gguf .*\(CHANGED since create\)/);
    copyFileSync(join(folder, "strong.bak"), adapter);

    expect((await camelid(["rm", "copy"])).stdout).toContain("deleted copy (a created model");
    expect((await camelid(["list"])).stdout).not.toMatch(/\ncopy\s/);
  });

  it("FROM a created model starts from its package; errors name the Modelfile's line", async () => {
    expect((await camelid(["create", "kind", "-f", modelfile("Kind", ["FROM storyteller", 'SYSTEM "Be kind."', "PARAMETER top_k 5"])])).code).toBe(0);
    const kind = JSON.parse((await camelid(["show", "kind", "--json"])).stdout);
    expect(kind.from).toBe("storyteller");
    expect(kind.adapters).toHaveLength(1);
    expect(kind.format).toBe("vicuna-v1.1");
    expect(kind.system).toBe("Be kind.");
    expect(kind.sampling).toEqual({ temperature: 0, maxTokens: 6, topK: 5 });

    const missing = await camelid(["create", "broken", "-f", modelfile("Missing", ["FROM ./stories260K.gguf"])]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`Missing:1: FROM file not found: ${join(folder, "stories260K.gguf")}`);
    const home = await camelid(["create", "broken", "-f", modelfile("Home", ["FROM ~/camelid-no-such-model.gguf"])]);
    expect(home.stderr).toContain(`Home:1: FROM file not found: ${join(homedir(), "camelid-no-such-model.gguf")}`);
    const noAdapter = await camelid(["create", "broken", "-f", modelfile("NoAdapter", [`FROM ${stories260KPath()}`, "", "ADAPTER gone.gguf 0.5"])]);
    expect(noAdapter.stderr).toContain(`NoAdapter:3: ADAPTER file not found: ${join(folder, "gone.gguf")}`);
    const notAdapter = await camelid(["create", "broken", "-f", modelfile("NotAdapter", [`FROM ${stories260KPath()}`, `ADAPTER ${stories260KPath()}`])]);
    expect(notAdapter.stderr).toContain("NotAdapter:2: ADAPTER");
    expect(notAdapter.stderr).toContain("is not a LoRA adapter");
    const badFormat = await camelid(["create", "broken", "-f", modelfile("BadFormat", [`FROM ${stories260KPath()}`, "FORMAT vicuna-v9"])]);
    expect(badFormat.stderr).toContain('BadFormat:2: unknown prompt format "vicuna-v9"');
    const unknownBase = await camelid(["create", "broken", "-f", modelfile("Unknown", ["FROM nobody"])]);
    expect(unknownBase.stderr).toMatch(/Unknown:1: FROM "nobody" is neither a file nor a created model \(created: .*storyteller/);
    const badName = await camelid(["create", "hf:x/y", "-f", modelfile("Fine", [`FROM ${stories260KPath()}`])]);
    expect(badName.stderr).toContain('"hf:x/y" is not a model name');
    expect((await camelid(["list"])).stdout).not.toContain("broken");
  });
});
