// `camelid list`: the models pulled into the local cache.
import { formatBytes } from "../../gguf/describe.js";
import { CacheLayout, defaultCacheDir, ManifestStore } from "../../hub/index.js";
import { parseCommandArgs } from "../args.js";
import type { CliIo } from "../io.js";

const HELP = `usage: camelid list [--json] [--cache-dir DIR]

Lists pulled models: name (what --model and rm accept), size, quantisation, when pulled and the file.
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, { json: { type: "boolean" }, "cache-dir": { type: "string" }, help: { type: "boolean", short: "h" } }, false);
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }
  const layout = new CacheLayout(defaultCacheDir(io.env, values["cache-dir"]));
  const manifests = await new ManifestStore(layout.manifestsFolder).list();
  if (values.json) {
    io.stdout(`${JSON.stringify(manifests, null, 2)}\n`);
    return 0;
  }
  if (manifests.length === 0) {
    io.stdout(`no models pulled into ${layout.root} (camelid pull hf:owner/repo:QUANT)\n`);
    return 0;
  }
  const rows = [
    ["NAME", "SIZE", "QUANT", "PULLED", "PATH"],
    ...manifests.map((manifest) => [
      manifest.name,
      formatBytes(manifest.size, { exact: false }),
      manifest.quantization ?? "-",
      manifest.pulledAt.slice(0, 16).replace("T", " "),
      manifest.path,
    ]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  io.stdout(rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]))).join("  ")).join("\n") + "\n");
  return 0;
}
