// `camelid pull hf:owner/repo[:quant|file] | https://…`: download a GGUF model into the local cache.
import { InvalidArgumentError } from "../../errors/index.js";
import { formatBytes } from "../../gguf/describe.js";
import { defaultCacheDir, pullModel, type PullEvent } from "../../hub/index.js";
import { parseCommandArgs } from "../args.js";
import { DownloadProgressView } from "../download-progress.js";
import type { CliIo } from "../io.js";

const HELP = `usage: camelid pull <hf:owner/repo[:quant|file] | https://…/file.gguf> [options]

Downloads a GGUF model from the Hugging Face Hub (or any https URL) into the local cache, resuming an
interrupted download, verifying its sha256 against the Hub's LFS metadata and checking it is a GGUF.
A quantisation name (Q4_K_M, q8_0, …) picks the file case-insensitively; with no name the repo's only
GGUF, else its Q4_K_M, is taken; otherwise the choices are listed. Use it as --model hf:owner/repo:QUANT.

options:
  --revision REV     branch, tag or commit (default main)
  --cache-dir DIR    the cache (default $CAMELID_HOME, else ~/.cache/camelid)
  --json             print the pulled model's manifest as JSON

environment:
  HF_TOKEN           access token for gated or private repos (sent only to the Hub)
  HF_ENDPOINT        the Hub's address (default https://huggingface.co)
  CAMELID_HOME       the cache folder
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    revision: { type: "string" },
    "cache-dir": { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new InvalidArgumentError("model", `expected one model to pull, got ${positionals.length} (see camelid pull --help)`);
  const progress = new DownloadProgressView(positionals[0], io.stderr, { isTTY: io.isTTY });
  const { manifest, downloaded } = await pullModel(positionals[0], {
    cacheDir: defaultCacheDir(io.env, values["cache-dir"]),
    ...(io.env.HF_ENDPOINT ? { endpoint: io.env.HF_ENDPOINT } : {}),
    ...(io.env.HF_TOKEN ? { token: io.env.HF_TOKEN } : {}),
    ...(values.revision ? { revision: values.revision } : {}),
    onProgress: (update) => progress.update(update),
    onEvent: (event) => {
      if (event.type === "resolved") progress.label = event.name;
      const line = describeEvent(event);
      if (line === undefined) return;
      progress.finish();
      io.stderr(`${line}\n`);
    },
  });
  progress.finish();
  if (values.json) io.stdout(`${JSON.stringify(manifest, null, 2)}\n`);
  else io.stdout(`${downloaded ? "pulled" : "already pulled"} ${manifest.name} (${formatBytes(manifest.size, { exact: false })}, sha256 ${manifest.sha256.slice(0, 12)}) → ${manifest.path}\n`);
  return 0;
}

function describeEvent(event: PullEvent): string | undefined {
  switch (event.type) {
    case "resolved":
      return `${event.name}: ${event.file}${event.size !== undefined ? ` (${formatBytes(event.size, { exact: false })})` : ""}${event.commit ? ` at ${event.commit.slice(0, 12)}` : ""}`;
    case "waiting":
      return `waiting for another pull of the same file${event.ownerPid !== undefined ? ` (pid ${event.ownerPid})` : ""}`;
    case "resuming":
      return `resuming from byte ${event.from}`;
    case "restarting":
      return `starting over: ${event.reason}`;
    case "interrupted":
      return `interrupted at byte ${event.at}: ${event.reason}`;
    case "retry":
      return `retry ${event.attempt} in ${(event.delayMs / 1000).toFixed(1)} s (${event.reason})`;
    case "verified":
      return event.against ? "sha256 verified" : "no sha256 published for this file: not verified";
    case "cached":
      return undefined;
  }
}
