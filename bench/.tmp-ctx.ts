import { createLocalModel } from "../src/providers/local/index.js";
const m = createLocalModel({ modelPath: "../shared/models/stories260K.gguf", contextSize: 128, sequences: 4 });
try { await m.doGenerate({ prompt: "Once upon a time ".repeat(400), maxTokens: 4 }); } catch (e: any) { console.log(e.message); }
await m.dispose();
