// Passkey ceremonies. A button with data-passkey="signin" or "register" and
// data-options / data-verify URLs; messages come from data-* attributes (translated by the server).
(function () {
  "use strict";

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || "";
    } catch (e) {
      return "";
    }
  }

  async function postJSON(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "x-csrftoken": csrfToken() },
      body: JSON.stringify(body || {}),
    });
    let data = {};
    try { data = await response.json(); } catch (e) { /* not JSON: handled below */ }
    if (!response.ok) {
      throw new Error(data.error || data.detail || response.statusText);
    }
    return data;
  }

  function withTimeout(promise, ms, message) {
    // Without an authenticator some browsers never settle the promise.
    return Promise.race([
      promise,
      new Promise(function (_, reject) { setTimeout(function () { reject(new Error(message)); }, ms); }),
    ]);
  }

  async function run(button) {
    const status = document.getElementById(button.dataset.status || "passkey-status");
    const say = function (text, isError) {
      if (!status) return;
      status.textContent = text;
      status.classList.toggle("error", Boolean(isError));
    };
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
      say(button.dataset.unsupported, true);
      return;
    }
    button.disabled = true;
    say(button.dataset.working, false);
    try {
      const started = await postJSON(button.dataset.options, {});
      const options = JSON.parse(started.options);
      let credential;
      if (button.dataset.passkey === "register") {
        credential = await withTimeout(navigator.credentials.create({
          publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
        }), 120000, button.dataset.failed);
      } else {
        credential = await withTimeout(navigator.credentials.get({
          publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
        }), 120000, button.dataset.failed);
      }
      const label = document.getElementById("passkey-label");
      const done = await postJSON(button.dataset.verify, {
        credential: credential.toJSON(),
        challenge: started.challenge,
        label: label ? label.value : "",
        next: button.dataset.next || "/",
      });
      // Only a path on this site, whatever the answer says (app.js: the server's rule).
      const safePath = (window.Qianmo && window.Qianmo.safePath) || function () { return ""; };
      window.location.assign(safePath(done.redirect) || "/");
    } catch (error) {
      const cancelled = error && (error.name === "NotAllowedError" || error.name === "AbortError");
      say(cancelled ? button.dataset.cancelled : (error.message || button.dataset.failed), true);
      button.disabled = false;
    }
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-passkey]");
    if (button) {
      event.preventDefault();
      run(button);
    }
  });
})();
