// A form marked data-once submits once: a double click or an impatient second click sends
// nothing more. Its submit button may say what is happening (data-busy-text).
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-once]")) return;
    if (form.dataset.submitted) { event.preventDefault(); return; }
    form.dataset.submitted = "1";
    var button = form.querySelector("button[type=submit][data-busy-text]");
    if (button) {
      button.setAttribute("aria-busy", "true");
      button.textContent = button.dataset.busyText;
    }
  });
})();
