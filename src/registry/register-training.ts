// `camelid train … --register NAME`: the run's result as a created model (base + adapter.gguf + the prompt
// format it was trained with), the same package a Modelfile with FROM/ADAPTER/FORMAT would make.
import { createModel } from "./create.js";
import type { CreatedModel } from "./package-schema.js";

export interface TrainedModel {
  basePath: string;
  adapterPath: string;
  promptFormat: string;
  cacheDir: string;
}

export function registerTrainedModel(name: string, trained: TrainedModel): Promise<CreatedModel> {
  return createModel(
    name,
    {
      from: { reference: trained.basePath, line: 0 },
      adapters: [{ path: trained.adapterPath, scale: 1, line: 0 }],
      format: { name: trained.promptFormat, line: 0 },
      sampling: {},
    },
    { cacheDir: trained.cacheDir, modelfilePath: "camelid train --register" },
  );
}
