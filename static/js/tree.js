// The pool tree: open and close nodes in place (children load on demand), keep the open nodes
// in the URL so a link reproduces the view, move with the keyboard as in a file tree, and copy
// a pool's ID with its button.
(function () {
  "use strict";

  function items(tree) {
    return Array.from(tree.querySelectorAll('[role="treeitem"]')).filter(function (item) {
      return !item.closest("ul[hidden]");
    });
  }

  function group(item) {
    return item.querySelector(':scope > ul[role="group"]');
  }

  function openIds(tree) {
    return Array.from(tree.querySelectorAll('[role="treeitem"][aria-expanded="true"]'))
      .map(function (item) { return item.dataset.pool; })
      .filter(Boolean)
      .sort();
  }

  // An "expand all" view opens up to thousands of pools: too many for a URL, which then keeps
  // saying "expand all".
  var MAX_OPEN_IN_URL = 200;

  function rememberOpen(tree) {
    var open = openIds(tree);
    var url = new URL(window.location.href);
    if (url.searchParams.get("expand") === "all" && open.length > MAX_OPEN_IN_URL) return;
    url.searchParams.delete("expand");
    if (open.length) url.searchParams.set("open", open.join(","));
    else url.searchParams.delete("open");
    history.replaceState(history.state, "", url.pathname + url.search.replace(/%2C/g, ",") + url.hash);
  }

  function setOpen(tree, item, open) {
    if (!item.hasAttribute("aria-expanded")) return;
    var children = group(item);
    item.setAttribute("aria-expanded", open ? "true" : "false");
    children.hidden = !open;
    rememberOpen(tree);
    if (open && !children.children.length && tree.dataset.children) {
      var url = tree.dataset.children.replace("__pool__", encodeURIComponent(item.dataset.pool));
      var level = parseInt(item.getAttribute("aria-level"), 10) + 1;
      item.setAttribute("aria-busy", "true");
      htmx.ajax("GET", url, {
        target: children,
        swap: "innerHTML",
        values: { open: openIds(tree).join(","), level: level },
      }).finally(function () { item.removeAttribute("aria-busy"); });
    }
  }

  function copied(button) {
    button.classList.add("copied");
    window.setTimeout(function () { button.classList.remove("copied"); }, 1500);
  }

  // The clipboard API needs a secure context; elsewhere the ID is selected and copied.
  function copyId(button) {
    var text = button.dataset.copy;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { copied(button); });
      return;
    }
    var code = button.previousElementSibling;
    var range = document.createRange();
    range.selectNodeContents(code);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try { if (document.execCommand("copy")) copied(button); } catch (error) { /* left selected */ }
  }

  function focus(tree, item) {
    tree.querySelectorAll('[role="treeitem"][tabindex="0"]').forEach(function (other) {
      other.setAttribute("tabindex", "-1");
    });
    item.setAttribute("tabindex", "0");
    item.focus();
  }

  function init(tree) {
    if (tree.dataset.ready) return;
    tree.dataset.ready = "1";
    var first = tree.querySelector('[role="treeitem"]');
    if (first) first.setAttribute("tabindex", "0");

    tree.addEventListener("click", function (event) {
      var copy = event.target.closest("button.copy");
      if (copy) {
        event.preventDefault();
        copyId(copy);
        return;
      }
      var toggle = event.target.closest(".toggle");
      if (!toggle) return;
      event.preventDefault();
      var item = toggle.closest('[role="treeitem"]');
      setOpen(tree, item, item.getAttribute("aria-expanded") !== "true");
      focus(tree, item);
    });

    tree.addEventListener("keydown", function (event) {
      var item = event.target.closest('[role="treeitem"]');
      if (!item || event.target !== item) return;
      var visible = items(tree);
      var index = visible.indexOf(item);
      var expanded = item.getAttribute("aria-expanded");
      var handled = true;
      switch (event.key) {
        case "ArrowDown": if (index < visible.length - 1) focus(tree, visible[index + 1]); break;
        case "ArrowUp": if (index > 0) focus(tree, visible[index - 1]); break;
        case "Home": focus(tree, visible[0]); break;
        case "End": focus(tree, visible[visible.length - 1]); break;
        case "ArrowRight":
          if (expanded === "false") setOpen(tree, item, true);
          else if (expanded === "true" && index < visible.length - 1) focus(tree, visible[index + 1]);
          break;
        case "ArrowLeft":
          if (expanded === "true") setOpen(tree, item, false);
          else {
            var parent = item.parentElement.closest('[role="treeitem"]');
            if (parent) focus(tree, parent);
          }
          break;
        case "Enter":
          var link = item.querySelector(":scope > .row a.name, :scope > .row a.create-here");
          if (link) link.click();
          break;
        default: handled = false;
      }
      if (handled) event.preventDefault();
    });
  }

  function initAll() { document.querySelectorAll("[data-tree]").forEach(init); }
  document.addEventListener("DOMContentLoaded", initAll);
  document.addEventListener("htmx:afterSettle", initAll);
})();
