// Vigil's own browser code: no inline handlers anywhere, everything wired here.
(function () {
  "use strict";
  // Form errors come back as 400 with the re-rendered form: show them (htmx swaps only 2xx by default).
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-confirm]").forEach(function (el) {
      el.addEventListener("click", function (event) {
        if (!window.confirm(el.getAttribute("data-confirm"))) {
          event.preventDefault();
        }
      });
    });
  });
})();
