// Volunteer pages: the phone's location on check-in and on an observation, the photo size
// check, and the certificate's print button. No inline code (CSP).
(function () {
  "use strict";

  function fill(form, position) {
    const c = position.coords;
    form.querySelector("input[name=lat]").value = c.latitude.toFixed(6);
    form.querySelector("input[name=lon]").value = c.longitude.toFixed(6);
    form.querySelector("input[name=accuracy]").value = Math.round(c.accuracy);
  }

  // Check-in: ask for the location once, but never hold the volunteer up for more than a few seconds.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.matches || !form.matches("form[data-locate]") || form.dataset.located || !("geolocation" in navigator)) {
      return;
    }
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    let sent = false;
    const send = function () {
      if (sent) { return; }
      sent = true;
      form.dataset.located = "1";
      form.submit();
    };
    setTimeout(send, 6000);
    navigator.geolocation.getCurrentPosition(function (position) { fill(form, position); send(); }, send,
      { enableHighAccuracy: true, timeout: 5000, maximumAge: 60000 });
  });

  // Observation: an "Add my location" button, and photos over the size limit refused before sending.
  for (const form of document.querySelectorAll("form.observation-form")) {
    const button = form.querySelector("button.locate");
    const status = form.querySelector(".locate-status");
    if (button && "geolocation" in navigator) {
      button.hidden = false;
      button.addEventListener("click", function () {
        status.textContent = button.dataset.locating;
        navigator.geolocation.getCurrentPosition(function (position) {
          fill(form, position);
          status.textContent = button.dataset.located.replace("{m}", Math.round(position.coords.accuracy));
        }, function () { status.textContent = button.dataset.failed; },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
      });
    }
    form.addEventListener("submit", function (event) {
      const photo = form.querySelector("input[type=file]");
      const max = Number(form.dataset.maxPhoto || 0);
      if (photo && photo.files && photo.files[0] && max && photo.files[0].size > max) {
        event.preventDefault();
        let error = photo.parentElement.querySelector(".error");
        if (!error) {
          error = document.createElement("p");
          error.className = "error";
          photo.parentElement.appendChild(error);
        }
        error.textContent = form.dataset.photoTooBig;
        photo.focus();
      }
    });
  }

  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", function () { window.print(); });
  }
})();
