// The playground's third-party browser code (Markdown, sanitiser, highlighting, math), served from
// this server's own node_modules under /vendor/, so the page never loads anything from a CDN and the
// strict CSP ('self' only) holds. The list is fixed: each URL maps to one file inside an installed
// package, resolved once at startup, so no request path ever picks a file.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export interface StaticAsset {
  /** URL path, e.g. "/vendor/dompurify/purify.js". */
  path: string;
  file: string;
  /** Rewrites the file's text before it is served (a CommonJS file turned into an ES module). */
  transform?: (text: string) => string;
}

/**
 * highlight.js ships its core only as CommonJS without any require(), and each language as a plain ES
 * module. Wrapping the core in a `module` object makes it an ES module the browser can import, with
 * the languages below imported and registered, so the page loads one module and gets them all.
 */
function highlightModule(core: string): string {
  const imports = highlightedLanguages.map((language, index) => `import language${index} from "./languages/${language}.js";`);
  const registrations = highlightedLanguages.map((language, index) => `highlightJs.registerLanguage(${JSON.stringify(language)}, language${index});`);
  return [...imports, "const module = { exports: {} };", core, "const highlightJs = module.exports;", ...registrations, "export default highlightJs;", ""].join("\n");
}

/** The languages highlighted in code blocks: highlight.js's "common" set (each file is a plain ES module). */
export const highlightedLanguages = [
  "bash", "c", "cpp", "csharp", "css", "diff", "go", "graphql", "ini", "java", "javascript", "json", "kotlin", "less", "lua",
  "makefile", "markdown", "objectivec", "perl", "php", "php-template", "plaintext", "python", "python-repl", "r", "ruby",
  "rust", "scss", "shell", "sql", "swift", "typescript", "vbnet", "wasm", "xml", "yaml",
] as const;

const readJson = (file: string) => JSON.parse(readFileSync(file, "utf8")) as { name?: string };

export function loadVendorAssets(): StaticAsset[] {
  const require = createRequire(import.meta.url);
  // Not `${name}/package.json`: packages with an "exports" map (DOMPurify) do not export it.
  const packageRoot = (name: string) => {
    let directory = dirname(require.resolve(name));
    while (!existsSync(join(directory, "package.json")) || readJson(join(directory, "package.json")).name !== name) {
      const parent = dirname(directory);
      if (parent === directory) throw new Error(`package root of ${name} not found`);
      directory = parent;
    }
    return directory;
  };
  const markdownIt = packageRoot("markdown-it");
  const dompurify = packageRoot("dompurify");
  const highlight = packageRoot("highlight.js");
  const katex = packageRoot("katex");
  return [
    { path: "/vendor/markdown-it/markdown-it.js", file: join(markdownIt, "dist/browser/markdown-it.esm.min.mjs") },
    { path: "/vendor/dompurify/purify.js", file: join(dompurify, "dist/purify.es.mjs") },
    { path: "/vendor/katex/katex.js", file: join(katex, "dist/katex.mjs") },
    { path: "/vendor/highlight.js/highlight.js", file: join(highlight, "lib/core.js"), transform: highlightModule },
    { path: "/vendor/highlight.js/github.css", file: join(highlight, "styles/github.min.css") },
    { path: "/vendor/highlight.js/github-dark.css", file: join(highlight, "styles/github-dark.min.css") },
    ...highlightedLanguages.map((language) => ({ path: `/vendor/highlight.js/languages/${language}.js`, file: join(highlight, "es/languages", `${language}.js`) })),
  ];
}

/** The bytes served for an asset (read per request, like web/, so an edited or upgraded file shows on reload). */
export function readStaticAsset(asset: StaticAsset): Uint8Array<ArrayBuffer> {
  return asset.transform ? new TextEncoder().encode(asset.transform(readFileSync(asset.file, "utf8"))) : readFileSync(asset.file);
}
