// Live news for the signed-in person: one EventSource on /events (Server-Sent Events; the
// browser reconnects by itself and sends Last-Event-ID, the server replays what was missed).
// Each notification shows a banner at the top of the page (urgent ones with a sound), and the
// unread count in the header follows. A page marked data-live-reload reloads when news about
// it arrives (an alert's page shows the acknowledgement). No inline code (CSP).
(function () {
  "use strict";
  const badge = document.querySelector("[data-unread]");
  if (!badge || !("EventSource" in window)) {
    return;
  }
  const count = badge.querySelector("[data-unread-count]");
  const shown = new Set();

  function setUnread(n) {
    count.textContent = String(n);
    badge.classList.toggle("has-unread", n > 0);
  }

  function beep() {
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      const ctx = new Ctx();
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.2;
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.4);
    } catch (e) {
      // no sound before the person has touched the page: the banner still shows
    }
  }

  function banner(n) {
    const main = document.querySelector("main");
    const box = document.createElement("a");
    box.className = "live-banner" + (n.urgent ? " urgent" : "");
    box.setAttribute("role", "alert");
    box.href = n.url || "/notifications";
    const title = document.createElement("strong");
    title.textContent = n.title;
    const text = document.createElement("span");
    text.textContent = n.text || "";
    box.append(title, text);
    main.prepend(box);
  }

  const source = new EventSource("/events");
  source.addEventListener("hello", function (event) {
    setUnread(JSON.parse(event.data).unread);
  });
  source.addEventListener("unread", function (event) {
    setUnread(Number(event.data));
  });
  source.addEventListener("notification", function (event) {
    const n = JSON.parse(event.data);
    if (shown.has(n.id)) {
      return;
    }
    shown.add(n.id);
    banner(n);
    if (n.urgent) {
      beep();
    }
    const live = document.querySelector("[data-live-reload]");
    if (live && n.url === live.dataset.liveReload) {
      window.location.replace(live.dataset.liveReload); // without ?done=…: that message was for before
    }
  });
})();
