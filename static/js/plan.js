// The plan page: one node form open at a time, and "Cancel" closes it in place.
(function () {
  "use strict";

  function closeOthers(keep) {
    document.querySelectorAll(".node-slot, #plan-dialog").forEach(function (slot) {
      if (slot !== keep && slot.children.length) slot.replaceChildren();
    });
  }

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || !target.matches || !target.matches(".node-slot, #plan-dialog")) return;
    closeOthers(target);
    var first = target.querySelector("input:not([type=hidden]), select, textarea, button");
    if (first) first.focus();
    target.scrollIntoView({ block: "nearest" });
  });

  document.addEventListener("click", function (event) {
    var cancel = event.target.closest("[data-close-slot]");
    if (!cancel) return;
    var slot = cancel.closest(".node-slot, #plan-dialog");
    if (!slot) return; // a page of its own: the link goes back to the plan
    event.preventDefault();
    var row = slot.closest('[role="treeitem"]');
    slot.replaceChildren();
    if (row) row.focus();
  });
})();
