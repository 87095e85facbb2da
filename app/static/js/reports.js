// Resident report form: the chosen category's hint, "already reported here?" as soon as a
// category is picked, the photo's size before sending, the phone's location, a character
// counter, the place filter of the general form; and the posters' print button. No inline
// code (CSP). Without JavaScript the form still works: the server asks about similar reports.
(function () {
  "use strict";

  const form = document.getElementById("report-form");

  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", function () { window.print(); });
  }
  if (!form) {
    return;
  }

  // --- Category: its hint, and the open reports of that category here --------------------
  const hint = document.getElementById("category-hint");
  const similar = document.getElementById("similar");
  let asked = 0;

  function place() {
    const select = form.querySelector("select[name=place]");
    return select ? select.value : "";
  }

  function askSimilar() {
    const chosen = form.querySelector("input[name=category]:checked");
    if (!chosen || !similar) {
      return;
    }
    const params = new URLSearchParams({ category: chosen.value });
    if (form.dataset.poster) {
      params.set("poster", form.dataset.poster);
    } else if (place()) {
      params.set("place", place());
    } else {
      similar.innerHTML = "";
      return;
    }
    const ticket = ++asked;
    fetch(`${form.dataset.similar}?${params}`, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        if (ticket === asked) {  // an older answer must not replace a newer one
          similar.innerHTML = html;
        }
      })
      .catch(function () { /* offline: the server asks when the form is sent */ });
  }

  form.addEventListener("change", function (event) {
    const target = event.target;
    if (target.name === "category") {
      if (hint) {
        hint.textContent = target.dataset.hint || "";
      }
      askSimilar();
    } else if (target.name === "place") {
      askSimilar();
    }
  });

  // --- Characters used ----------------------------------------------------------------------
  for (const counter of form.querySelectorAll("[data-counter]")) {
    const area = document.getElementById(counter.dataset.counter);
    const show = function () {
      counter.textContent = counter.dataset.template.replace("{n}", area.value.length);
    };
    area.addEventListener("input", show);
    show();
  }
})();
