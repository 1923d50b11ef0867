// @ts-check
// Named settings presets, saved in this browser's local storage (not on the server) and shared by
// every settings form: a preset saved in Chat can be loaded in Arena. A form only takes the fields it
// has (Battle has no prompt format).
import { h } from "./dom.js";

const storageKey = "camelid.presets";
const changedEvent = "camelid:presets-changed";

/** @typedef {Record<string, unknown>} PresetSettings */

/** @returns {Record<string, PresetSettings>} */
export function readPresets() {
  try {
    const parsed = JSON.parse(localStorage.getItem(storageKey) ?? "{}");
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : {};
  } catch {
    // A hand-edited or truncated entry: start again rather than break every form.
    return {};
  }
}

/** @param {Record<string, PresetSettings>} presets */
function writePresets(presets) {
  localStorage.setItem(storageKey, JSON.stringify(presets));
  document.dispatchEvent(new CustomEvent(changedEvent));
}

/**
 * The presets row of a settings form.
 * @param {{ idPrefix: string, read: () => PresetSettings, apply: (settings: PresetSettings) => void, announce: (message: string, kind?: "info" | "error") => void }} options
 * @returns {HTMLElement}
 */
export function createPresetsBar({ idPrefix, read, apply, announce }) {
  const id = (/** @type {string} */ name) => `${idPrefix}-${name}`;
  const picker = /** @type {HTMLSelectElement} */ (h("select", { id: id("preset") }));
  const nameInput = /** @type {HTMLInputElement} */ (h("input", { id: id("preset-name"), type: "text", placeholder: "name", maxlength: 80, autocomplete: "off" }));
  const loadButton = h("button", { type: "button", id: id("preset-load"), onclick: () => load() }, "Load");
  const deleteButton = h("button", { type: "button", id: id("preset-delete"), class: "danger", onclick: () => remove() }, "Delete");
  const saveButton = h("button", { type: "button", id: id("preset-save"), onclick: () => save() }, "Save preset");

  function paint() {
    const names = Object.keys(readPresets()).sort((a, b) => a.localeCompare(b));
    const chosen = picker.value;
    picker.replaceChildren(h("option", { value: "" }, names.length ? "choose…" : "no presets yet"), ...names.map((name) => h("option", { value: name }, name)));
    picker.value = names.includes(chosen) ? chosen : "";
    loadButton.toggleAttribute("disabled", !picker.value);
    deleteButton.toggleAttribute("disabled", !picker.value);
  }

  function load() {
    const settings = readPresets()[picker.value];
    if (!settings) return;
    apply(settings);
    announce(`Preset "${picker.value}" loaded`);
  }

  function save() {
    const name = nameInput.value.trim();
    if (!name) {
      nameInput.focus();
      return announce("Name the preset first", "error");
    }
    writePresets({ ...readPresets(), [name]: read() });
    nameInput.value = "";
    picker.value = name;
    paint();
    announce(`Preset "${name}" saved in this browser`);
  }

  function remove() {
    const name = picker.value;
    if (!name) return;
    const { [name]: _removed, ...rest } = readPresets();
    writePresets(rest);
    announce(`Preset "${name}" deleted`);
  }

  picker.addEventListener("change", paint);
  nameInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      save();
    }
  });
  document.addEventListener(changedEvent, paint);
  paint();
  return h(
    "div",
    { class: "presets", role: "group", "aria-label": "Presets (saved in this browser)" },
    h("label", { for: id("preset") }, "Preset"),
    picker,
    loadButton,
    deleteButton,
    h("label", { for: id("preset-name") }, "Save as"),
    nameInput,
    saveButton,
  );
}
