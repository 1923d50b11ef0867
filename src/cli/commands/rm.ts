// `camelid rm NAME…`: remove pulled models and their files, or created models (their manifest only).
import { InvalidArgumentError } from "../../errors/index.js";
import { CacheLayout, defaultCacheDir, findCreated, findManifest, isPulled, ManifestStore, removeModel } from "../../hub/index.js";
import { parseCommandArgs } from "../args.js";
import type { CliIo } from "../io.js";

const HELP = `usage: camelid rm <name>… [--cache-dir DIR]

Removes pulled models (names as camelid list shows them) and deletes their files; a file another pulled
name still uses is kept. A created model loses only its manifest: the files it refers to are not its own.
An unknown name is refused.
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { "cache-dir": { type: "string" }, help: { type: "boolean", short: "h" } });
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new InvalidArgumentError("name", "name the model to remove (see camelid list)");
  const cacheDir = defaultCacheDir(io.env, values["cache-dir"]);
  // All names are checked before anything is deleted, so a typo in the list deletes nothing.
  const store = new ManifestStore(new CacheLayout(cacheDir).manifestsFolder);
  const all = await store.listAll();
  const createdNamed = (name: string) => findCreated(all, name);
  for (const name of positionals) if (!createdNamed(name)) findManifest(all.filter(isPulled), name);
  for (const name of positionals) {
    const created = createdNamed(name);
    if (created) {
      await store.remove(created);
      io.stdout(`deleted ${created.name} (a created model: its base and adapters are left as they are)\n`);
      continue;
    }
    const { manifest, deleted } = await removeModel(name, cacheDir);
    io.stdout(`deleted ${manifest.name}${deleted.length ? "" : " (its file is still used by another pulled name)"}\n`);
  }
  return 0;
}
