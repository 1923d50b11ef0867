// @ts-check
// Markdown → safe HTML for model output, built from maintained libraries handed in by the caller
// (the page loads them from /vendor/, tests from node_modules): markdown-it (CommonMark + tables and
// strikethrough, raw HTML off), highlight.js for code blocks, KaTeX for $…$, $$…$$, \(…\) and \[…\],
// and DOMPurify over the result. Math is rendered to MathML before sanitising: KaTeX's HTML output
// needs inline styles, which the playground's CSP (style-src 'self') rightly refuses.

/** @typedef {import("markdown-it").default} MarkdownIt */
/** @typedef {import("markdown-it").Token} Token */
/** @typedef {(tex: string, display: boolean) => string} RenderMath */
/**
 * The libraries the renderer is built on, and the sanitiser over its output.
 * @typedef {{ MarkdownIt: typeof import("markdown-it").default, highlighter: import("highlight.js").HLJSApi, katex: typeof import("katex").default, sanitize: (html: string) => string }} MarkdownLibraries
 */

/** Only these link targets become links; anything else stays text. */
const allowedLink = /^(https?:|mailto:)/i;

/** A `$` math span may not open before a space or close after one, nor end right before a digit ("$5 and $6"). */
/** @param {string} src @param {number} start */
function findDollarEnd(src, start) {
  for (let index = start; index < src.length; index++) {
    const c = src[index];
    if (c === "\\") index++;
    else if (c === "$") {
      if (/\s/.test(src[index - 1]) || /\d/.test(src[index + 1] ?? "")) return -1;
      return index;
    }
  }
  return -1;
}

/**
 * markdown-it plugin: math spans and blocks become `math_inline` / `math_block` tokens holding the TeX.
 * @param {MarkdownIt} md
 * @param {RenderMath} renderMath
 */
function mathPlugin(md, renderMath) {
  md.inline.ruler.before("escape", "math_inline", (state, silent) => {
    const src = state.src;
    const at = state.pos;
    let open;
    let close;
    if (src.startsWith("$$", at)) [open, close] = ["$$", "$$"];
    else if (src.startsWith("\\(", at)) [open, close] = ["\\(", "\\)"];
    else if (src.startsWith("\\[", at)) [open, close] = ["\\[", "\\]"];
    else if (src[at] === "$") [open, close] = ["$", "$"];
    else return false;
    const start = at + open.length;
    const end = open === "$" ? (/\s/.test(src[start] ?? " ") ? -1 : findDollarEnd(src, start)) : src.indexOf(close, start);
    if (end <= start) return false;
    if (!silent) {
      const token = state.push("math_inline", "math", 0);
      token.content = src.slice(start, end);
      token.meta = { display: open === "$$" || open === "\\[" };
    }
    state.pos = end + close.length;
    return true;
  });

  md.block.ruler.before("fence", "math_block", (state, startLine, endLine, silent) => {
    /** @param {number} line */
    const lineText = (line) => state.src.slice(state.bMarks[line] + state.tShift[line], state.eMarks[line]);
    if (state.sCount[startLine] - state.blkIndent >= 4) return false;
    const first = lineText(startLine);
    const open = first.startsWith("$$") ? "$$" : first.startsWith("\\[") ? "\\[" : null;
    if (!open) return false;
    const close = open === "$$" ? "$$" : "\\]";
    const rest = first.slice(open.length);
    let content;
    let last = startLine;
    const closeAt = rest.indexOf(close);
    if (closeAt >= 0) {
      // "$$x$$" followed by more text on the line is inline math inside a paragraph, not a block.
      if (rest.slice(closeAt + close.length).trim()) return false;
      content = rest.slice(0, closeAt);
    } else {
      const lines = [rest];
      // An unclosed block runs to the end, as while a reply is still streaming.
      for (last = startLine + 1; last < endLine; last++) {
        const text = lineText(last);
        if (text.trimEnd().endsWith(close)) {
          lines.push(text.trimEnd().slice(0, -close.length));
          break;
        }
        lines.push(text);
      }
      content = lines.join("\n");
    }
    if (silent) return true;
    const token = state.push("math_block", "math", 0);
    token.block = true;
    token.content = content.trim();
    state.line = Math.min(last + 1, endLine);
    token.map = [startLine, state.line];
    return true;
  }, { alt: ["paragraph", "reference", "blockquote", "list"] });

  md.renderer.rules.math_inline = (tokens, index) => renderMath(tokens[index].content, tokens[index].meta.display);
  md.renderer.rules.math_block = (tokens, index) => `<div class="math-block">${renderMath(tokens[index].content, true)}</div>\n`;
}

/**
 * @param {MarkdownLibraries} libraries
 * @returns {(markdown: string) => string}
 */
export function createMarkdownRenderer({ MarkdownIt, highlighter, katex, sanitize }) {
  const md = new MarkdownIt({ html: false, linkify: true, breaks: true, typographer: false });
  // Images would load from wherever the model points (the CSP blocks them anyway): they stay text.
  md.disable("image");
  md.validateLink = (url) => allowedLink.test(url.trim());
  const escapeHtml = md.utils.escapeHtml;

  /** @type {RenderMath} */
  const renderMath = (tex, display) => {
    try {
      // trust: false keeps \href, \url and \htmlClass from emitting links or attributes; output is MathML only.
      return katex.renderToString(tex, { displayMode: display, output: "mathml", throwOnError: true, trust: false, maxSize: 50, maxExpand: 500, strict: "ignore" });
    } catch (error) {
      // KaTeX's own error display colours the TeX with a style attribute: the TeX is shown as code instead.
      const message = error instanceof katex.ParseError ? error.message : String(error);
      return `<code class="math-error" title="${escapeHtml(message)}">${escapeHtml(tex)}</code>`;
    }
  };
  mathPlugin(md, renderMath);

  // Column alignment as a class, not markdown-it's style attribute (the CSP refuses inline styles).
  md.core.ruler.push("table_align_class", (state) => {
    for (const token of state.tokens) {
      if (token.type !== "th_open" && token.type !== "td_open") continue;
      const align = /^text-align:(left|right|center)$/.exec(token.attrGet("style") ?? "");
      if (!align) continue;
      token.attrs = (token.attrs ?? []).filter(([name]) => name !== "style");
      token.attrJoin("class", `align-${align[1]}`);
    }
  });

  md.renderer.rules.fence = (tokens, index) => {
    const token = tokens[index];
    const language = token.info.trim().split(/\s+/)[0].toLowerCase();
    const known = language && highlighter.getLanguage(language);
    const code = known ? highlighter.highlight(token.content, { language, ignoreIllegals: true }).value : escapeHtml(token.content);
    const languageClass = language ? ` language-${escapeHtml(language)}` : "";
    const label = language ? `<span class="code-language">${escapeHtml(language)}</span>` : "";
    return (
      `<div class="code-block"><div class="code-toolbar">${label}<button type="button" class="copy-code" data-copy-state="idle">Copy</button></div>` +
      `<pre tabindex="0"><code class="hljs${languageClass}">${code}</code></pre></div>\n`
    );
  };

  const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, index, options, env, self) => self.renderToken(tokens, index, options));
  md.renderer.rules.link_open = (tokens, index, options, env, self) => {
    tokens[index].attrSet("target", "_blank");
    tokens[index].attrSet("rel", "noopener noreferrer nofollow");
    return defaultLinkOpen(tokens, index, options, env, self);
  };

  return (markdown) => sanitize(md.render(String(markdown ?? "")));
}

/**
 * DOMPurify configured for the renderer's output: HTML and MathML only, no style attributes (the CSP
 * refuses them), KaTeX's TeX annotation dropped with its text, and every link re-checked: http(s) or
 * mailto only, opened in a new tab without opener or referrer.
 * @param {import("dompurify").DOMPurify} createDOMPurify DOMPurify's default export
 * @param {import("dompurify").WindowLike} window
 * @returns {(html: string) => string}
 */
export function createSanitizer(createDOMPurify, window) {
  const purify = createDOMPurify(window);
  if (!purify.isSupported) throw new Error("DOMPurify cannot run here: Markdown would be shown unsanitised");
  purify.addHook("afterSanitizeAttributes", (node) => {
    if (node.nodeName !== "A") return;
    if (!allowedLink.test(node.getAttribute("href") ?? "")) node.removeAttribute("href");
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  });
  /** @type {import("dompurify").Config} */
  const config = {
    USE_PROFILES: { html: true, mathMl: true },
    ADD_ATTR: ["target"],
    FORBID_ATTR: ["style"],
    ADD_FORBID_CONTENTS: ["annotation"],
  };
  return (html) => purify.sanitize(html, config);
}
