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

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || "";
    } catch (e) {
      return "";
    }
  }

  // A banner is the notification's own "open" button: tapping it marks it read and goes there.
  function banner(n) {
    const main = document.querySelector("main");
    const form = document.createElement("form");
    form.method = "post";
    form.action = "/notifications/" + n.id + "/open";
    form.className = "live-banner-form";
    const token = document.createElement("input");
    token.type = "hidden";
    token.name = "_csrf_token";
    token.value = csrfToken();
    const box = document.createElement("button");
    box.type = "submit";
    box.className = "live-banner" + (n.urgent ? " urgent" : "");
    box.setAttribute("role", "alert");
    const title = document.createElement("strong");
    title.textContent = n.title;
    const text = document.createElement("span");
    text.textContent = n.text || "";
    box.append(title, text);
    form.append(token, box);
    main.prepend(form);
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
