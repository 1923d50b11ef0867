// @ts-check
// The model checkboxes of Arena and Collaborate: one label per served model (data-model-pick="<id>")
// holding its checkbox, read when a round starts and set when a saved session is reopened.

/** The models whose boxes are checked, in the pickers' order. @param {readonly HTMLElement[]} picks */
export const checkedModels = (picks) => picks.flatMap((label) => label.querySelector("input") ?? []).filter((box) => box.checked).map((box) => box.value);

/** Checks exactly the boxes of `models`. @param {readonly HTMLElement[]} picks @param {readonly string[]} models */
export function checkModels(picks, models) {
  for (const label of picks) {
    const box = label.querySelector("input");
    if (box) box.checked = models.includes(label.dataset.modelPick ?? "");
  }
}
