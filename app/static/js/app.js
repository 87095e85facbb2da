// Qianmo page script, loaded on every page (deferred). No inline scripts or styles anywhere:
// the Content-Security-Policy allows only script-src 'self' and style-src 'self', so this file
// only toggles classes and the `hidden` attribute.
(function () {
  "use strict";

  // --- Service worker: served from the root path so that it controls every page -----------
  if ("serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker
        .register("/sw.js", { scope: "/", updateViaCache: "none" })
        .catch(function (error) {
          console.warn("Qianmo: service worker not registered:", error);
        });
    });
  }

  // --- Offline banner at the top of <main> -------------------------------------------------
  // The text comes from the server, translated: <body data-offline-text="...">.
  const FALLBACK_TEXT = "离线";
  let banner = null;

  function offlineText() {
    return (document.body && document.body.dataset.offlineText) || FALLBACK_TEXT;
  }

  function ensureBanner() {
    const main = document.querySelector("main");
    if (!main) {
      return null;
    }
    if (!banner || banner.parentNode !== main) {
      banner = document.createElement("div");
      banner.className = "offline-banner";
      banner.setAttribute("role", "status");
      banner.hidden = true;
      main.prepend(banner);
    }
    return banner;
  }

  function updateBanner() {
    const box = ensureBanner();
    if (!box) {
      return;
    }
    const offline = navigator.onLine === false;
    box.hidden = !offline;
    // Text set after showing (and cleared when hidden), so that screen readers announce it.
    box.textContent = offline ? offlineText() : "";
  }

  window.addEventListener("online", updateBanner);
  window.addEventListener("offline", updateBanner);
  // htmx may replace part of the page; put the banner back if <main> was swapped.
  document.addEventListener("htmx:afterSettle", function () {
    if (!banner || !banner.isConnected) {
      updateBanner();
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", updateBanner);
  } else {
    updateBanner();
  }
})();
