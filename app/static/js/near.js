// "Near me": the page asks the phone for its position and reloads with it (the server lists
// the nearest places); on a log form, once the phone's location is added (forms.js sends
// "qianmo:located"), the nearest place of the picker is offered, computed here so that it
// works offline too (every option of the picker carries its place's coordinates).
(function () {
  "use strict";

  function metres(lat1, lon1, lat2, lon2) {
    const rad = Math.PI / 180;
    const a = Math.sin((lat2 - lat1) * rad / 2) ** 2
      + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin((lon2 - lon1) * rad / 2) ** 2;
    return 2 * 6371008.8 * Math.asin(Math.sqrt(Math.min(1, a)));
  }

  function setUpNearPage(form) {
    const button = form.querySelector("[data-near-locate]");
    const status = document.querySelector("[data-near-status]");
    if (!button || !("geolocation" in navigator)) {
      return;
    }
    button.addEventListener("click", function () {
      status.textContent = form.dataset.asking;
      navigator.geolocation.getCurrentPosition(function (position) {
        form.querySelector("input[name=lat]").value = position.coords.latitude.toFixed(6);
        form.querySelector("input[name=lng]").value = position.coords.longitude.toFixed(6);
        form.submit();
      }, function () {
        status.textContent = form.dataset.refused;
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }

  function suggestNearest(form) {
    const select = form.querySelector("select[name=place]");
    const box = form.querySelector("[data-nearest]");
    const lat = parseFloat(form.querySelector("input[name=lat]").value);
    const lon = parseFloat(form.querySelector("input[name=lon]").value);
    if (!select || !box || Number.isNaN(lat) || Number.isNaN(lon)) {
      return;
    }
    let best = null;
    for (const option of select.querySelectorAll("option[data-lat]")) {
      const d = metres(lat, lon, parseFloat(option.dataset.lat), parseFloat(option.dataset.lon));
      if (!best || d < best.d) {
        best = { option: option, d: d };
      }
    }
    if (!best) {
      return;
    }
    const use = box.querySelector("button");
    box.querySelector("[data-nearest-text]").textContent = box.dataset.text
      .replace("{place}", best.option.text).replace("{m}", Math.round(best.d));
    use.onclick = function () {
      select.value = best.option.value;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      box.hidden = true;
    };
    box.hidden = select.value === best.option.value;
  }

  document.addEventListener("DOMContentLoaded", function () {
    const near = document.querySelector("form[data-near]");
    if (near) {
      setUpNearPage(near);
    }
  });
  document.addEventListener("qianmo:located", function (event) {
    suggestNearest(event.target);
  });
})();
