// For make_peft_golden.py: per case of test/convert/golden/peft-cases.json, a seeded camelid adapter on
// the case's base model, exported with exportPeftAdapter into <dir>/<case>/peft for PEFT to load.
import { join } from "node:path";
import { exportPeftAdapter } from "../../src/convert/lora/gguf-to-peft.js";
import { peftCases, writeCamelidCaseAdapter } from "../../test/convert/support/peft-fixtures.js";

const [dir] = process.argv.slice(2);
if (!dir) throw new Error("usage: tsx scripts/golden/write_camelid_peft_export.ts OUT_DIR");
for (const testCase of peftCases) {
  const caseDir = join(dir, testCase.name);
  const { basePath, adapterPath } = await writeCamelidCaseAdapter(testCase, caseDir);
  const result = await exportPeftAdapter({ adapterPath, basePath, outDir: join(caseDir, "peft") });
  console.log(`${testCase.name}: ${result.tensors} tensors, r ${result.rank}, alpha ${result.alpha}, ${result.targetModules.join(",")}`);
}
