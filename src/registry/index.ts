/**
 * Packaged models: `camelid create NAME -f Modelfile` records a base model, LoRA adapters, a prompt format or
 * chat template, a system prompt and sampling defaults under a name, in the same manifests folder as pulled
 * models (src/hub); `--model NAME` (serve, generate, chat) loads the package.
 */
export { parseModelfile, renderModelfile, MODELFILE_PARAMETERS, type Modelfile, type PackagedSampling } from "./modelfile.js";
export { createModel, createModelFromFile, checkCreatedName, checkFile, recordFile, type FileState } from "./create.js";
export { resolveModelName, packageOf, type ModelPackage } from "./resolve.js";
export { applyPackagedDefaults, withPackagedDefaults, hasPackagedDefaults, type PackagedDefaults } from "./packaged-model.js";
export { registerTrainedModel, type TrainedModel } from "./register-training.js";
export { createdModelSchema, type CreatedModel } from "./package-schema.js";
export { ModelfileError } from "./errors.js";
