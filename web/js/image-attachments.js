// @ts-check
// Images in the chat composer: attach (file picker), paste or drop them; they go with the next message
// as OpenAI image_url parts (data: URIs), shown as thumbnails in the composer and the transcript. A
// stored message's images come back from the server by hash (/api/images/<sha256>) after a reload.
import { apiBlob } from "./api.js";
import { h } from "./dom.js";

/** @typedef {import("../../src/server/images/image-store.js").ImageReference} ImageReference */
/** @typedef {{ type: "text", text: string } | { type: "image_url", image_url: { url: string } }} ContentPart */
/** An image waiting in the composer: its data: URI and the reference the server will store it under. @typedef {{ url: string, reference: ImageReference }} Attachment */

/** The types every vision backend decodes (the server refuses others with image_unsupported_type). */
const acceptedTypes = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/** data: URIs by hash, so an image sent once is never read from the server again in this page. */
const known = new Map();

/** @param {Blob} blob @returns {Promise<string>} */
function dataUri(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

/** @param {Blob} blob @returns {Promise<string>} lowercase hex, as the server names the stored file */
async function sha256Of(blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** @param {ImageReference} reference @returns {Promise<string>} the image as a data: URI */
export async function imageUrl(reference) {
  const cached = known.get(reference.sha256);
  if (cached) return cached;
  const url = await dataUri(await apiBlob(`/api/images/${reference.sha256}`));
  known.set(reference.sha256, url);
  return url;
}

/**
 * A message's content as the chat API takes it: the text alone, or its images first, then the text.
 * @param {string} text @param {readonly ImageReference[] | undefined} images
 * @returns {Promise<string | ContentPart[]>}
 */
export async function messageContent(text, images) {
  if (!images || images.length === 0) return text;
  const urls = await Promise.all(images.map(imageUrl));
  return [...urls.map((url) => /** @type {ContentPart} */ ({ type: "image_url", image_url: { url } })), { type: "text", text }];
}

/**
 * Thumbnails of a message's images, appended under its header.
 * @param {HTMLElement} article @param {readonly ImageReference[] | undefined} images
 */
export function showThumbnails(article, images) {
  if (!images || images.length === 0) return;
  const strip = h("div", { class: "image-thumbnails", "data-count": images.length });
  for (const [index, reference] of images.entries()) {
    const img = h("img", { class: "thumbnail", alt: `Image ${index + 1} of ${images.length}`, "data-sha256": reference.sha256 });
    strip.append(img);
    void imageUrl(reference).then(
      (url) => {
        img.setAttribute("src", url);
        img.dataset.state = "loaded";
      },
      () => {
        img.dataset.state = "missing";
        img.setAttribute("alt", `Image ${index + 1} (no longer stored)`);
      },
    );
  }
  article.querySelector("header")?.after(strip);
}

/**
 * The composer's attachments: a button with a file picker, paste and drop (on the element `watch` is
 * given), and a tray of thumbnails with a remove button each. `prefix` names the elements' ids
 * ("chat": #chat-attach, #chat-image-file, #chat-attachments).
 * @param {{ onError: (message: string) => void, prefix?: string }} options
 */
export function createImageAttachments({ onError, prefix = "chat" }) {
  /** @type {Attachment[]} */
  let pending = [];
  const tray = h("div", { class: "attachment-tray", id: `${prefix}-attachments`, "aria-label": "Images to send", hidden: true });
  const picker = h("input", { type: "file", accept: acceptedTypes.join(","), multiple: true, id: `${prefix}-image-file`, hidden: true, "aria-label": "Image files" });
  const button = h("button", { type: "button", id: `${prefix}-attach`, title: "Attach images (or paste or drop them here)", onclick: () => picker.click() }, "Attach image");

  const paint = () => {
    tray.hidden = pending.length === 0;
    tray.dataset.count = String(pending.length);
    tray.replaceChildren(
      ...pending.map((attachment, index) =>
        h(
          "figure",
          { class: "attachment" },
          h("img", { class: "thumbnail", src: attachment.url, alt: `Attached image ${index + 1}` }),
          h("button", { type: "button", class: "remove-attachment", "aria-label": `Remove image ${index + 1}`, onclick: () => ((pending = pending.filter((a) => a !== attachment)), paint()) }, "×"),
        ),
      ),
    );
  };

  /** @param {Iterable<File>} files */
  async function add(files) {
    for (const file of files) {
      if (!acceptedTypes.includes(file.type)) {
        onError(`${file.name || "The file"} is not a PNG, JPEG, GIF or WebP image`);
        continue;
      }
      const url = await dataUri(file);
      const sha256 = await sha256Of(file);
      known.set(sha256, url);
      pending.push({ url, reference: { sha256, mime_type: /** @type {ImageReference["mime_type"]} */ (file.type), size: file.size } });
    }
    paint();
  }

  picker.addEventListener("change", () => {
    void add(picker.files ? [...picker.files] : []);
    picker.value = "";
  });
  /** Paste and drop images onto `target` (the composer). @param {HTMLElement} target */
  function watch(target) {
    target.addEventListener("paste", (event) => {
      const files = [...(event.clipboardData?.files ?? [])].filter((file) => file.type.startsWith("image/"));
      if (files.length === 0) return;
      event.preventDefault();
      void add(files);
    });
    target.addEventListener("dragover", (event) => {
      if ([...(event.dataTransfer?.types ?? [])].includes("Files")) event.preventDefault();
    });
    target.addEventListener("drop", (event) => {
      const files = [...(event.dataTransfer?.files ?? [])];
      if (files.length === 0) return;
      event.preventDefault();
      void add(files);
    });
  }

  return {
    button,
    picker,
    tray,
    watch,
    count: () => pending.length,
    /** The images for the message being sent; the composer is emptied. @returns {Attachment[]} */
    take() {
      const taken = pending;
      pending = [];
      paint();
      return taken;
    },
    /** Puts images back (a message that was not sent). @param {Attachment[]} attachments */
    restore(attachments) {
      pending = [...attachments, ...pending];
      paint();
    },
  };
}
