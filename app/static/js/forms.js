// What several phone forms share (field logs, resident reports, patrol observations): a
// photo over the size limit is refused before it is sent, the phone's location fills
// lat/lon/accuracy, a long list of places can be narrowed by typing, long texts count their
// characters, a saved answer clears the form's errors, and a step that cannot be undone asks
// first. No inline code (CSP).
(function () {
  "use strict";

  // --- Photo: refuse a file over the limit before it is sent ---------------------------------
  // Capture phase: runs before htmx or the outbox see the submission.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    const photo = form.querySelector && form.querySelector("input[type=file][name=photo]");
    const max = Number((form.dataset && form.dataset.maxPhoto) || 0);
    if (!photo || !photo.files || !photo.files[0] || !max || photo.files[0].size <= max) {
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
    const box = photo.closest(".field") || photo.parentNode;
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
    photo.setAttribute("aria-describedby", error.id);
    photo.focus();
  }, true);

  // --- A step that cannot be undone asks first (data-confirm holds the translated question) ---
  // Capture phase, like the photo check: a "no" stops htmx and the outbox from sending too.
  document.addEventListener("submit", function (event) {
    const question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // --- A record-creating form is checked on the phone before it leaves -----------------------
  // The template's own rules (required, maxlength, pattern, min/max): a queued entry the server
  // would refuse is fixed on the spot, not found "not accepted" later. Checked online too: a
  // post that gets no answer within sw.js SLOW_AFTER is queued as well, and the page cannot
  // know beforehand which post that will be. The server still checks everything.
  // The server's words where the page has them (body data-required/-choose, a control's
  // data-invalid), so an error reads the same wherever it was found; else the browser's.
  function messageFor(control) {
    const words = document.body.dataset;
    if (control.validity.valueMissing) {
      return (control.type === "radio" || control.type === "checkbox" ? words.choose : words.required) ||
        control.validationMessage;
    }
    return control.dataset.invalid || control.validationMessage;
  }

  function markInvalid(form) {
    clearErrors(form);
    const invalid = Array.from(form.elements).filter((el) => el.willValidate && !el.validity.valid);
    const seen = new Set();
    invalid.forEach((control) => {
      if (seen.has(control.name)) {
        return; // one message per radio group
      }
      seen.add(control.name);
      const box = control.closest(".field, fieldset, div") || control.parentNode;
      const note = document.createElement("p");
      note.className = "error";
      note.id = `e-${control.name}`;
      note.textContent = messageFor(control);
      box.append(note);
      box.classList.add("has-error");
      control.setAttribute("aria-invalid", "true");
      control.setAttribute("aria-describedby", note.id);
    });
    const summary = document.createElement("p");
    summary.className = "flash error";
    summary.setAttribute("role", "alert");
    summary.textContent = document.body.dataset.invalid || "";
    form.prepend(summary);
    if (invalid[0]) {
      invalid[0].focus();
    }
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.matches("form[data-outbox]") || form.checkValidity()) {
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
    markInvalid(form);
  }, true);

  // --- A chosen photo survives the server's "please correct" -----------------------------------
  // The form comes back (a new page, or an htmx swap) without the file: the photo is kept in the
  // phone's outbox database under the form's client_uuid, which the server's answer repeats,
  // and put back into the new form. Kept only until it is put back.
  const PHOTO_KEY = "photo:";
  const Store = window.QianmoOutbox;

  function photoParts(form) {
    const input = form.querySelector && form.querySelector("input[type=file][name=photo]");
    const uuid = form.querySelector && form.querySelector("input[name=client_uuid]");
    return input && uuid && uuid.value && Store ? { input, uuid: uuid.value } : null;
  }

  document.addEventListener("submit", function (event) {
    const parts = photoParts(event.target);
    if (parts && parts.input.files && parts.input.files[0]) {
      Store.setMeta(PHOTO_KEY + parts.uuid, parts.input.files[0]).catch(() => {});
    }
  }, true);

  async function restorePhoto(form) {
    const parts = photoParts(form);
    if (!parts || (parts.input.files && parts.input.files.length) || !form.querySelector("[aria-invalid], .flash.error")) {
      return;
    }
    const file = await Store.getMeta(PHOTO_KEY + parts.uuid).catch(() => undefined);
    if (!file || typeof DataTransfer !== "function") {
      return;
    }
    await Store.removeMeta(PHOTO_KEY + parts.uuid).catch(() => {});
    const transfer = new DataTransfer();
    transfer.items.add(file instanceof File ? file : new File([file], "photo.jpg", { type: file.type }));
    parts.input.files = transfer.files;
    parts.input.dispatchEvent(new Event("change", { bubbles: true }));
    const again = form.querySelector(".photo-again");
    if (again && again.dataset.kept) {
      again.textContent = again.dataset.kept;
    }
  }
  document.querySelectorAll("form").forEach(restorePhoto);
  document.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail && event.detail.target;
    (target && target.matches && target.matches("form") ? [target] : []).concat(
      Array.from(document.querySelectorAll("form[data-outbox]"))).forEach(restorePhoto);
  });

  // --- "Sending…" at once, and a second tap sends nothing (record-creating forms) -------------
  // Bubble phase: the checks above (capture phase) may have stopped the submission. The button
  // is not disabled (a disabled submitter would drop its name=value from the post); a form
  // that is sending refuses another submit instead. A slow answer is the service worker's to
  // cut short (sw.js SLOW_AFTER: the post moves to the outbox); htmx's answer, the page
  // shown again from the back/forward cache or an error swapped in end the state.
  const SENDING = "sending";

  function buttonsOf(form) {
    return Array.from(form.querySelectorAll("button[type=submit], button:not([type])"));
  }

  function startSending(form, submitter) {
    form.dataset[SENDING] = "1";
    form.setAttribute("aria-busy", "true");
    const text = document.body.dataset.sending;
    buttonsOf(form).forEach((button) => {
      button.setAttribute("aria-disabled", "true");
      if (text && (button === submitter || !submitter) && !button.dataset.idleText) {
        button.dataset.idleText = button.textContent;
        button.textContent = text;
      }
    });
  }

  function stopSending(form) {
    delete form.dataset[SENDING];
    form.removeAttribute("aria-busy");
    buttonsOf(form).forEach((button) => {
      button.removeAttribute("aria-disabled");
      if (button.dataset.idleText) {
        button.textContent = button.dataset.idleText;
        delete button.dataset.idleText;
      }
    });
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    // The forms that create records (field logs, public forms): they are what the outbox keeps.
    if (!(form instanceof HTMLFormElement) || !form.matches("form[data-outbox]")) {
      return;
    }
    if (form.dataset[SENDING]) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    if (!event.defaultPrevented || form.hasAttribute("hx-post")) {
      startSending(form, event.submitter);
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const form = event.detail && event.detail.elt;
    if (form instanceof HTMLFormElement) {
      stopSending(form);
    }
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sending]").forEach(stopSending);
  });

  // --- Location from the phone, with its accuracy --------------------------------------------
  function setUpLocation(form) {
    const button = form.querySelector("button.locate");
    if (!button || button.dataset.ready || !("geolocation" in navigator)) {
      return;
    }
    button.dataset.ready = "1";
    button.hidden = false;
    const status = form.querySelector(".locate-status");
    button.addEventListener("click", function () {
      status.textContent = button.dataset.locating;
      navigator.geolocation.getCurrentPosition(function (position) {
        const c = position.coords;
        form.querySelector("input[name=lat]").value = c.latitude.toFixed(6);
        form.querySelector("input[name=lon]").value = c.longitude.toFixed(6);
        form.querySelector("input[name=accuracy]").value = Math.round(c.accuracy);
        status.textContent = button.dataset.located.replace("{m}", Math.round(c.accuracy));
        form.dispatchEvent(new CustomEvent("qianmo:located", { bubbles: true }));  // js/near.js
      }, function () {
        status.textContent = button.dataset.failed;
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }

  // --- Place picker: type to narrow a long list ----------------------------------------------
  function setUpPlaceFilter(form) {
    const filter = form.querySelector(".place-filter");
    const select = form.querySelector("select[name=place]");
    if (!filter || !select || filter.dataset.ready || select.options.length <= 12) {
      return;
    }
    filter.dataset.ready = "1";
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
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  }

  // --- A saved answer clears every error the form shows ----------------------------------------
  // The server's and the outbox's alike, so that "✓ Saved" never stands beside an old "Choose one".
  function clearErrors(form) {
    form.querySelectorAll("p.error, .flash.error").forEach((el) => el.remove());
    form.querySelectorAll(".has-error").forEach((el) => el.classList.remove("has-error"));
    form.querySelectorAll("[aria-invalid]").forEach((control) => {
      control.removeAttribute("aria-invalid");
      const kept = (control.getAttribute("aria-describedby") || "").split(/\s+/)
        .filter((id) => id && document.getElementById(id));
      if (kept.length) {
        control.setAttribute("aria-describedby", kept.join(" "));
      } else {
        control.removeAttribute("aria-describedby");
      }
    });
  }
  window.Qianmo = Object.assign(window.Qianmo || {}, { clearErrors });

  // --- Long texts: how much of the limit is used, shown as it is typed -----------------------
  function setUpCounters(form) {
    for (const area of form.querySelectorAll("textarea[maxlength]")) {
      if (area.dataset.counted) {
        continue;
      }
      area.dataset.counted = "1";
      const counter = document.createElement("p");
      counter.className = "counter";
      const show = () => { counter.textContent = `${area.value.length} / ${area.maxLength}`; };
      area.addEventListener("input", show);
      form.addEventListener("reset", () => setTimeout(show));
      show();
      area.after(counter);
    }
  }

  function setUpAll() {
    for (const form of document.querySelectorAll("form")) {
      setUpLocation(form);
      setUpPlaceFilter(form);
      setUpCounters(form);
    }
  }

  // htmx may swap in a form (one with errors): set it up again.
  document.addEventListener("htmx:afterSwap", setUpAll);
  setUpAll();
})();
