// @ts-check
// The colour theme: follow the OS (the default), or light or dark whatever the OS says, chosen in the
// header and kept in local storage. The page's colours follow <html data-theme> through CSS
// color-scheme; highlight.js's two stylesheets are switched by their `media` attribute, so code blocks
// follow the chosen theme and not only the OS's media query. KaTeX writes MathML that inherits the text
// colour, so formulas follow by themselves.
import { h } from "./dom.js";

/** @typedef {"system" | "light" | "dark"} ThemeChoice */

const storageKey = "camelid.theme";
const osDark = "(prefers-color-scheme: dark)";
/** What each highlight.js stylesheet's media attribute is when the OS decides. */
const followOsMedia = { light: "(prefers-color-scheme: light), (prefers-color-scheme: no-preference)", dark: osDark };

/** @returns {ThemeChoice} */
export function storedTheme() {
  const value = localStorage.getItem(storageKey);
  return value === "light" || value === "dark" ? value : "system";
}

/**
 * Applies a choice to the page: data-theme (the choice) and data-resolved-theme (what is shown, for
 * scripts and tests), and the highlight.js stylesheets' media.
 * @param {ThemeChoice} choice
 */
export function applyTheme(choice) {
  const root = document.documentElement;
  if (choice === "system") delete root.dataset.theme;
  else root.dataset.theme = choice;
  root.dataset.resolvedTheme = choice === "system" ? (matchMedia(osDark).matches ? "dark" : "light") : choice;
  for (const link of document.querySelectorAll("link[data-theme-stylesheet]")) {
    if (!(link instanceof HTMLLinkElement)) continue;
    const shade = link.dataset.themeStylesheet === "dark" ? "dark" : "light";
    link.media = choice === "system" ? followOsMedia[shade] : choice === shade ? "all" : "not all";
  }
}

/**
 * The header's theme picker, with the stored choice applied now and followed while the OS changes.
 * @returns {HTMLLabelElement}
 */
export function createThemePicker() {
  const select = /** @type {HTMLSelectElement} */ (
    h(
      "select",
      { id: "theme-select" },
      h("option", { value: "system" }, "OS theme"),
      h("option", { value: "light" }, "Light"),
      h("option", { value: "dark" }, "Dark"),
    )
  );
  select.value = storedTheme();
  applyTheme(storedTheme());
  select.addEventListener("change", () => {
    const choice = /** @type {ThemeChoice} */ (select.value);
    if (choice === "system") localStorage.removeItem(storageKey);
    else localStorage.setItem(storageKey, choice);
    applyTheme(choice);
  });
  matchMedia(osDark).addEventListener("change", () => applyTheme(storedTheme()));
  return /** @type {HTMLLabelElement} */ (h("label", { for: "theme-select", class: "inline-label theme-picker" }, h("span", { class: "theme-label" }, "Theme"), select));
}
