// `camelid list`: the models pulled into the local cache and those made by `camelid create`.
import { formatBytes } from "../../gguf/describe.js";
import { CacheLayout, defaultCacheDir, ManifestStore } from "../../hub/index.js";
import { parseCommandArgs } from "../args.js";
import type { CliIo } from "../io.js";

const HELP = `usage: camelid list [--json] [--cache-dir DIR]

Lists pulled and created models: name (what --model, show and rm accept), size (a created model's base and
adapters), quantisation ("created" for a created model), when pulled or created, and the file (a created
model's base).
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, { json: { type: "boolean" }, "cache-dir": { type: "string" }, help: { type: "boolean", short: "h" } }, false);
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }
  const layout = new CacheLayout(defaultCacheDir(io.env, values["cache-dir"]));
  const manifests = await new ManifestStore(layout.manifestsFolder).listAll();
  if (values.json) {
    io.stdout(`${JSON.stringify(manifests, null, 2)}\n`);
    return 0;
  }
  if (manifests.length === 0) {
    io.stdout(`no models pulled into ${layout.root} (camelid pull hf:owner/repo:QUANT) and none created (camelid create NAME -f Modelfile)\n`);
    return 0;
  }
  const rows = [
    ["NAME", "SIZE", "QUANT", "PULLED", "PATH"],
    ...manifests.map((manifest) =>
      manifest.source === "created"
        ? [
            manifest.name,
            formatBytes(manifest.base.size + manifest.adapters.reduce((sum, adapter) => sum + adapter.size, 0), { exact: false }),
            "created",
            manifest.createdAt.slice(0, 16).replace("T", " "),
            `${manifest.base.path}${manifest.adapters.length ? ` + ${manifest.adapters.length} adapter(s)` : ""}`,
          ]
        : [manifest.name, formatBytes(manifest.size, { exact: false }), manifest.quantization ?? "-", manifest.pulledAt.slice(0, 16).replace("T", " "), manifest.path],
    ),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  io.stdout(rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]))).join("  ")).join("\n") + "\n");
  return 0;
}
