// Findings list: a "select all on this page" box for bulk triage. Event delegation, so it keeps
// working after htmx swaps in another page of results. No inline handlers (the CSP forbids them).
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[data-select-all]")) {
      return;
    }
    var form = box.closest("form");
    if (!form) {
      return;
    }
    form.querySelectorAll("input[name=finding]").forEach(function (item) {
      item.checked = box.checked;
    });
  });
})();
