// Volunteer pages: the phone's location added to a check-in, and the certificate's print
// button. No inline code (CSP).
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

  // The observation form's location button and photo size check are js/forms.js's (shared).

  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", function () { window.print(); });
  }
})();
