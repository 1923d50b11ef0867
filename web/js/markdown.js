// A small, safe Markdown renderer for model output. Safety comes from order: every piece of text is
// HTML-escaped before any markup is added, and the only markup added is a fixed set of tags whose
// attributes we write ourselves (links only for http(s) and mailto URLs). Never feed it trusted HTML.

/** @param {string} text */
export function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

const safeUrl = /^(https?:\/\/|mailto:)[^\s]+$/i;

/** Inline markup on one already-escaped line: code spans first, so their content stays literal. */
function renderInline(escaped) {
  const codeSpans = [];
  let text = escaped.replace(/`([^`]+)`/g, (_, code) => {
    codeSpans.push(`<code>${code}</code>`);
    return `\u0000${codeSpans.length - 1}\u0000`;
  });
  text = text
    .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (whole, label, url) => {
      // The URL was escaped with the rest of the line; undo &amp; only to check the scheme.
      const raw = url.replace(/&amp;/g, "&");
      if (!safeUrl.test(raw)) return whole;
      return `<a href="${url}" rel="noopener noreferrer nofollow" target="_blank">${label}</a>`;
    })
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
    .replace(/__([^_]+)__/g, "<strong>$1</strong>")
    .replace(/(^|[^*])\*([^*\s][^*]*)\*/g, "$1<em>$2</em>")
    .replace(/~~([^~]+)~~/g, "<del>$1</del>");
  return text.replace(/\u0000(\d+)\u0000/g, (_, index) => codeSpans[Number(index)]);
}

const fence = /^\s{0,3}(```|~~~)\s*([\w+#.-]*)\s*$/;
const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const bullet = /^\s*[-*+]\s+(.*)$/;
const ordered = /^\s*(\d{1,9})[.)]\s+(.*)$/;
const quote = /^\s*&gt;\s?(.*)$/;
const rule = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;

/**
 * Markdown → HTML string. Supports fenced code blocks (an unclosed fence runs to the end, as while
 * streaming), headings, lists, block quotes, rules, paragraphs and inline code/bold/italic/links.
 * @param {string} markdown
 * @returns {string}
 */
export function renderMarkdown(markdown) {
  const lines = String(markdown ?? "").replace(/\r\n?/g, "\n").split("\n");
  const out = [];
  let paragraph = [];
  let list = null; // { type: "ul" | "ol", items: string[], start: number }
  let quoteLines = null;

  const flushParagraph = () => {
    if (paragraph.length) out.push(`<p>${paragraph.map(renderInline).join("<br>")}</p>`);
    paragraph = [];
  };
  const flushList = () => {
    if (!list) return;
    const start = list.type === "ol" && list.start !== 1 ? ` start="${list.start}"` : "";
    out.push(`<${list.type}${start}>${list.items.map((item) => `<li>${renderInline(item)}</li>`).join("")}</${list.type}>`);
    list = null;
  };
  const flushQuote = () => {
    if (!quoteLines) return;
    out.push(`<blockquote>${renderMarkdown(quoteLines.join("\n").replace(/&gt;/g, ">").replace(/&lt;/g, "<").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&"))}</blockquote>`);
    quoteLines = null;
  };
  const flushAll = () => {
    flushParagraph();
    flushList();
    flushQuote();
  };

  for (let i = 0; i < lines.length; i++) {
    const rawLine = lines[i];
    const open = fence.exec(rawLine);
    if (open) {
      flushAll();
      const code = [];
      let j = i + 1;
      for (; j < lines.length; j++) {
        const close = fence.exec(lines[j]);
        if (close && close[1] === open[1] && close[2] === "") break;
        code.push(lines[j]);
      }
      const language = open[2] ? ` class="language-${escapeHtml(open[2])}" data-language="${escapeHtml(open[2])}"` : "";
      out.push(`<pre tabindex="0"><code${language}>${escapeHtml(code.join("\n"))}</code></pre>`);
      i = j;
      continue;
    }
    const line = escapeHtml(rawLine);
    if (line.trim() === "") {
      flushAll();
      continue;
    }
    const quoted = quote.exec(line);
    if (quoted) {
      flushParagraph();
      flushList();
      (quoteLines ??= []).push(quoted[1]);
      continue;
    }
    flushQuote();
    if (rule.test(line)) {
      flushAll();
      out.push("<hr>");
      continue;
    }
    const head = heading.exec(line);
    if (head) {
      flushAll();
      const level = head[1].length;
      out.push(`<h${level}>${renderInline(head[2])}</h${level}>`);
      continue;
    }
    const item = bullet.exec(line);
    const number = item ? null : ordered.exec(line);
    if (item || number) {
      flushParagraph();
      const type = item ? "ul" : "ol";
      if (!list || list.type !== type) {
        flushList();
        list = { type, items: [], start: number ? Number(number[1]) : 1 };
      }
      list.items.push(item ? item[1] : number[2]);
      continue;
    }
    if (list && /^\s{2,}\S/.test(line)) {
      list.items[list.items.length - 1] += ` ${line.trim()}`;
      continue;
    }
    flushList();
    paragraph.push(line);
  }
  flushAll();
  return out.join("\n");
}
