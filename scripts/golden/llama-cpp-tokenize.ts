// Used by make_vocab_golden.py: llama.cpp (the build node-llama-cpp runs) tokenizes texts with a
// vocab-only GGUF, as camelid's tests do. Reads a JSON array of texts on stdin, prints the ids as JSON.
// Run: npx tsx scripts/golden/llama-cpp-tokenize.ts VOCAB.gguf < texts.json
import { readFileSync } from "node:fs";
import { getLlamaRuntime } from "../../src/providers/local/llama-runtime.js";

const texts = JSON.parse(readFileSync(0, "utf8")) as string[];
const llama = await getLlamaRuntime();
const model = await llama.loadModel({ modelPath: process.argv[2], vocabOnly: true });
process.stdout.write(JSON.stringify(texts.map((text) => Array.from(model.tokenize(text, false), Number))));
await model.dispose();
