// The pool form: "Use it" buttons fill a field, and an input follows its live error region.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-fill]");
    if (!button) return;
    var input = document.getElementById(button.dataset.fill);
    if (!input) return;
    input.value = button.dataset.value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.focus();
  });

  // Live validation swaps error regions only; keep aria-invalid on their inputs in step.
  document.body.addEventListener("htmx:oobAfterSwap", function (event) {
    var region = event.detail.target;
    if (!region || !region.id || !region.id.endsWith("_error")) return;
    var input = document.getElementById(region.id.slice(0, -"_error".length));
    if (!input) return;
    if (region.textContent.trim()) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    var group = document.getElementById(input.id + "_group");
    if (group) group.classList.toggle("has-error", !!region.textContent.trim());
  });

  // Live validation tells the server which field changed (a static listener, so the page
  // needs no eval-style hx-vals under its Content Security Policy).
  document.body.addEventListener("htmx:configRequest", function (event) {
    if (!event.detail.elt.matches("form[data-live]")) return;
    var trigger = event.detail.triggeringEvent;
    event.detail.parameters._live = (trigger && trigger.target && trigger.target.name) || "";
  });

  // "Add a tag" replaces its rows, button included: give the focus to the new row's key.
  var addedRows = null;
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-add-row]");
    if (button) addedRows = button.dataset.addRow;
  });
  document.body.addEventListener("htmx:afterSettle", function (event) {
    if (!addedRows) return;
    // Only the rows' own answer: a live check of the field the click left may settle first.
    var source = event.detail.elt || event.target;
    var mine = source && ((source.dataset && source.dataset.addRow === addedRows) ||
      source.id === addedRows + "-rows");
    if (!mine) return;
    var rows = document.querySelectorAll("#" + addedRows + "-rows .tag-row");
    addedRows = null;
    var key = rows.length && rows[rows.length - 1].querySelector("input[type=text]");
    if (key) key.focus();
  });
})();
