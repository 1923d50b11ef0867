// @ts-check
// The playground's Markdown: the renderer of markdown-renderer.js with the libraries the server serves
// from its node_modules under /vendor/ (never a CDN), and the click handling of code blocks' Copy buttons.
import DOMPurify from "/vendor/dompurify/purify.js";
import highlighter from "/vendor/highlight.js/highlight.js";
import katex from "/vendor/katex/katex.js";
import MarkdownIt from "/vendor/markdown-it/markdown-it.js";
import { createMarkdownRenderer, createSanitizer } from "./markdown-renderer.js";

/** Markdown → sanitised HTML, for `innerHTML`. */
export const renderMarkdown = createMarkdownRenderer({ MarkdownIt, highlighter, katex, sanitize: createSanitizer(DOMPurify, window) });

/**
 * Copy buttons work through one listener on `root`, because a streaming reply's HTML (buttons
 * included) is replaced on every repaint. The button's data-copy-state says what happened
 * ("copied" or "failed"), for the user (CSS) and for tests.
 * @param {Document | HTMLElement} root
 */
export function installCodeCopy(root) {
  root.addEventListener("click", async (event) => {
    const button = event.target instanceof Element ? event.target.closest("button.copy-code") : null;
    const code = button?.closest(".code-block")?.querySelector("pre code");
    if (!(button instanceof HTMLElement) || !code) return;
    try {
      await navigator.clipboard.writeText(code.textContent ?? "");
      button.dataset.copyState = "copied";
      button.textContent = "Copied";
    } catch {
      button.dataset.copyState = "failed";
      button.textContent = "Copy failed";
    }
  });
}
