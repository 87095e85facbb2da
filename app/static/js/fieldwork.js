// Field-log forms: time of sending, more parties, and the reset after a log is saved (the
// form stays for the next one); js/forms.js does photo size, location and the place filter.
// No inline code (CSP).
(function () {
  "use strict";

  function newUuid() {
    if (window.crypto && crypto.randomUUID) {
      return crypto.randomUUID();
    }
    // Older browsers: RFC 4122 version 4 from getRandomValues.
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function forms() {
    return document.querySelectorAll("form.log-form");
  }

  // --- When: the phone's time at sending, so a log queued offline keeps its real time -----
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.classList || !form.classList.contains("log-form")) {
      return;
    }
    const when = form.querySelector("input[name=occurred_at]");
    if (when && !when.value) {
      when.value = new Date().toISOString();
    }
  }, true);

  // --- Mediation: more parties on demand ----------------------------------------------------
  function setUpParties(form) {
    const button = form.querySelector("button.add-party");
    if (!button) {
      return;
    }
    const hidden = () => form.querySelectorAll(".party[hidden]");
    button.hidden = hidden().length === 0;
    button.addEventListener("click", function () {
      const next = hidden()[0];
      if (next) {
        next.hidden = false;
        next.querySelector("input").focus();
      }
      button.hidden = hidden().length === 0;
    });
  }

  function setUp(form) {
    if (form.dataset.ready) {
      return;
    }
    form.dataset.ready = "1";
    setUpParties(form);
  }

  // --- After a save (htmx): empty the form for the next log, keep the place -----------------
  document.body.addEventListener("log-saved", function () {
    for (const form of forms()) {
      const place = form.querySelector("select[name=place]").value;
      window.Qianmo.clearErrors(form);
      form.reset();
      form.querySelector("select[name=place]").value = place;
      for (const name of ["occurred_at", "lat", "lon", "accuracy", "follows_up"]) {
        const input = form.querySelector(`input[name=${name}]`);
        if (input) {
          input.value = "";
        }
      }
      const id = form.querySelector("input[name=client_uuid]");
      if (id) {
        id.value = newUuid();
      }
      const status = form.querySelector(".locate-status");
      if (status) {
        status.textContent = "";
      }
    }
  });

  // htmx swapped in a form with errors: wire it up again.
  document.body.addEventListener("htmx:afterSwap", function () {
    forms().forEach(setUp);
  });

  // --- The written agreement: print (or save as PDF) ----------------------------------------
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", function () {
      window.print();
    });
  }

  forms().forEach(setUp);
})();
