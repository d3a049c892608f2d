// Progressive enhancement only: every page works without this file.
// Filter menus apply on change; hovering a bbox brings its label forward.
document.addEventListener("DOMContentLoaded", () => {
  for (const select of document.querySelectorAll("form.filters select")) {
    select.addEventListener("change", () => select.form.submit());
  }
  for (const box of document.querySelectorAll("#bboxes .bbox")) {
    box.addEventListener("mouseenter", () => box.parentNode.appendChild(box));
  }
});
