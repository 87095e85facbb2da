// Call import: a large file takes a while to check and to import. While the server works,
// the button says so, counts the seconds and cannot be pressed twice. No inline code (CSP).
(function () {
  "use strict";
  for (const form of document.querySelectorAll("form[data-long]")) {
    form.addEventListener("submit", function () {
      const button = form.querySelector("button[type=submit]");
      const status = form.querySelector(".progress");
      if (!button || !status) {
        return;
      }
      button.disabled = true;
      status.hidden = false;
      const started = Date.now();
      const text = status.dataset.text || "";
      const tick = function () {
        status.textContent = text.replace("{s}", Math.round((Date.now() - started) / 1000));
      };
      tick();
      setInterval(tick, 1000);
    });
  }
})();
