/**
 * ShareGPT scrapes hold ChatGPT's rendered HTML. FastChat converts it back with markdownify; this is
 * a small dependency-free converter for the tags those pages use: paragraphs, line breaks, headings,
 * emphasis, inline code, code blocks with their language, lists, links, tables, block quotes. Other
 * tags are dropped, their text kept; entities are decoded.
 */
const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " ", "#39": "'" };

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+\d*);/gi, (whole, name: string) => {
    if (name[0] === "#") {
      const code = name[1] === "x" || name[1] === "X" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return Number.isFinite(code) && code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

/** Whether a message is HTML worth converting (FastChat checks for ChatGPT's markup). */
export function looksLikeHtml(text: string): boolean {
  return /<(p|div|pre|code|ol|ul|li|h[1-6]|br|strong|em|table|blockquote)(\s[^>]*)?\/?>/i.test(text);
}

export function htmlToMarkdown(html: string): string {
  let text = html;
  // Code blocks first, so nothing inside them is treated as markup.
  const blocks: string[] = [];
  text = text.replace(/<pre[^>]*>([\s\S]*?)<\/pre>/gi, (_, inner: string) => {
    const language = /class="[^"]*language-([\w+#.-]+)/i.exec(inner)?.[1] ?? "";
    // ChatGPT's code header ("python Copy code") sits in the <pre> before the <code>.
    const code = /<code[^>]*>([\s\S]*?)<\/code>/i.exec(inner)?.[1] ?? inner;
    blocks.push(`\n\n\`\`\`${language}\n${decodeEntities(code.replace(/<[^>]+>/g, "")).replace(/\n+$/, "")}\n\`\`\`\n\n`);
    return `\u0000${blocks.length - 1}\u0000`;
  });
  text = text
    .replace(/<code[^>]*>([\s\S]*?)<\/code>/gi, (_, code: string) => `\`${code.replace(/<[^>]+>/g, "")}\``)
    .replace(/<h([1-6])[^>]*>([\s\S]*?)<\/h\1>/gi, (_, level: string, inner: string) => `\n\n${"#".repeat(Number(level))} ${inner.trim()}\n\n`)
    .replace(/<(strong|b)(\s[^>]*)?>([\s\S]*?)<\/\1>/gi, "**$3**")
    .replace(/<(em|i)(\s[^>]*)?>([\s\S]*?)<\/\1>/gi, "*$3*")
    .replace(/<a\s[^>]*href="([^"]*)"[^>]*>([\s\S]*?)<\/a>/gi, "[$2]($1)")
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/<blockquote[^>]*>([\s\S]*?)<\/blockquote>/gi, (_, inner: string) => `\n\n${inner.replace(/<[^>]+>/g, "").trim().split("\n").map((line) => `> ${line}`).join("\n")}\n\n`);
  text = convertLists(text);
  text = text
    .replace(/<tr[^>]*>([\s\S]*?)<\/tr>/gi, (_, row: string) => {
      const cells = [...row.matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/gi)].map((m) => m[1].replace(/<[^>]+>/g, "").trim());
      const header = /<th/i.test(row);
      return `| ${cells.join(" | ")} |\n${header ? `|${cells.map(() => " --- |").join("")}\n` : ""}`;
    })
    .replace(/<\/?(table|thead|tbody)[^>]*>/gi, "\n")
    .replace(/<\/?(p|div)[^>]*>/gi, "\n\n")
    .replace(/<[^>]+>/g, "");
  text = decodeEntities(text);
  text = text.replace(/\u0000(\d+)\u0000/g, (_, index: string) => blocks[Number(index)]);
  return text.replace(/[ \t]+\n/g, "\n").replace(/\n{3,}/g, "\n\n").trim();
}

function convertLists(html: string): string {
  // Innermost lists first, so nesting becomes indentation.
  let text = html;
  for (let guard = 0; guard < 50; guard++) {
    const match = /<(ol|ul)(\s[^>]*)?>((?:(?!<(?:ol|ul)[\s>])[\s\S])*?)<\/\1>/i.exec(text);
    if (!match) break;
    const ordered = match[1].toLowerCase() === "ol";
    const start = Number(/start="(\d+)"/.exec(match[2] ?? "")?.[1] ?? 1);
    const items = [...match[3].matchAll(/<li[^>]*>([\s\S]*?)<\/li>/gi)].map((m, index) => {
      const body = m[1].replace(/<\/?p[^>]*>/gi, "").trim().split("\n").map((line, i) => (i === 0 ? line : `   ${line}`)).join("\n");
      return `${ordered ? `${start + index}.` : "-"} ${body}`;
    });
    text = `${text.slice(0, match.index)}\n\n${items.join("\n")}\n\n${text.slice(match.index + match[0].length)}`;
  }
  return text;
}

/** FastChat's code fix for copied ChatGPT pages: "```pythonCopy code" → "```python\n". */
export function fixCopiedCodeHeaders(text: string): string {
  return text.replace(/```[ \t]*([\w+#.-]*)[ \t]*(?:Copy code)+[ \t]*\n?/g, (_, language: string) => `\`\`\`${language}\n`);
}
