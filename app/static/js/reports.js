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

  // --- Photo: refuse a file over the limit before it is sent --------------------------------
  form.addEventListener("submit", function (event) {
    const photo = form.querySelector("input[type=file][name=photo]");
    const max = Number(form.dataset.maxPhoto || 0);
    if (photo && photo.files && photo.files[0] && max && photo.files[0].size > max) {
      event.preventDefault();
      const box = photo.closest(".field");
      let error = box.querySelector(".error");
      if (!error) {
        error = document.createElement("p");
        error.className = "error";
        error.id = "e-photo";
        box.appendChild(error);
      }
      error.textContent = form.dataset.photoTooBig || "";
      box.classList.add("has-error");
      photo.setAttribute("aria-invalid", "true");
      photo.setAttribute("aria-describedby", "e-photo");
      photo.focus();
    }
    // A second tap sends the same client_uuid: the server answers with the first report.
  });

  // --- Location from the phone -------------------------------------------------------------
  const locate = form.querySelector("button.locate");
  if (locate && "geolocation" in navigator) {
    locate.hidden = false;
    const status = form.querySelector(".locate-status");
    locate.addEventListener("click", function () {
      status.textContent = locate.dataset.locating;
      navigator.geolocation.getCurrentPosition(function (position) {
        const c = position.coords;
        form.querySelector("input[name=lat]").value = c.latitude.toFixed(6);
        form.querySelector("input[name=lon]").value = c.longitude.toFixed(6);
        form.querySelector("input[name=accuracy]").value = Math.round(c.accuracy);
        status.textContent = locate.dataset.located.replace("{m}", Math.round(c.accuracy));
      }, function () {
        status.textContent = locate.dataset.failed;
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }

  // --- Characters used ----------------------------------------------------------------------
  for (const counter of form.querySelectorAll("[data-counter]")) {
    const area = document.getElementById(counter.dataset.counter);
    const show = function () {
      counter.textContent = counter.dataset.template.replace("{n}", area.value.length);
    };
    area.addEventListener("input", show);
    show();
  }

  // --- General form: type to narrow the list of places ---------------------------------------
  const filter = form.querySelector(".place-filter");
  const select = form.querySelector("select[name=place]");
  if (filter && select && select.options.length > 12) {
    filter.hidden = false;
    filter.addEventListener("input", function () {
      const words = filter.value.trim().toLowerCase();
      let first = null;
      for (const option of select.options) {
        const match = !option.value || !words || option.text.toLowerCase().includes(words)
          || (option.parentElement.label || "").toLowerCase().includes(words);
        option.hidden = !match;
        if (match && option.value && !first) {
          first = option;
        }
      }
      if (words && first && (!select.value || select.selectedOptions[0].hidden)) {
        select.value = first.value;
        askSimilar();
      }
    });
  }
})();
