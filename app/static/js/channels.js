// The notification channels page: what this browser can do for phone notifications, and the
// button that turns them on or off here. The words come from the page (translated by the
// server, <ul data-push-messages>); this file only decides which to show. No inline code (CSP).
//
// Phone notifications need a service worker, the Push API and the Notification API; on iPhone
// and iPad (iOS 16.4+) only an app added to the Home Screen has them. Turning on: permission,
// then pushManager.subscribe with the server's VAPID key (GET /push/key), then the
// subscription to the box's data-subscribe URL (the CSRF token in its header, as htmx sends it).
// Two uses: the signed-in person's channels page (/push/subscribe), and a resident's tracking
// page (data-scope="tracking", /t/<code>/push): there the browser's subscription may also serve
// a person signed in on it, so turning off only tells the server, and whether this code is on
// is remembered on the phone (localStorage), not read from the browser's subscription.
(function () {
  "use strict";
  const box = document.getElementById("push-channel");
  if (!box) {
    return;
  }
  const state = box.querySelector("[data-push-state]");
  const note = box.querySelector("[data-push-note]");
  const onButton = box.querySelector("[data-push-on]");
  const offButton = box.querySelector("[data-push-off]");
  const serverNote = note.textContent;
  const tracking = box.dataset.scope === "tracking";
  const remembered = "qianmo-push:" + location.pathname;

  function remember(on) {
    try {
      if (on) {
        localStorage.setItem(remembered, "1");
      } else {
        localStorage.removeItem(remembered);
      }
    } catch (e) {
      // private mode: the page just shows "off" next time
    }
  }

  function rememberedOn() {
    try {
      return localStorage.getItem(remembered) === "1";
    } catch (e) {
      return false;
    }
  }

  function msg(name) {
    const item = document.querySelector('[data-push-messages] [data-msg="' + name + '"]');
    return item ? item.textContent : "";
  }

  function show(stateName, noteName, button) {
    state.textContent = msg(stateName);
    state.className = "tag" + (stateName === "on" ? " ok" : stateName === "denied" ? " bad" : "");
    box.dataset.pushStatus = stateName;
    note.textContent = noteName ? msg(noteName) : serverNote;
    onButton.hidden = button !== "on";
    offButton.hidden = button !== "off";
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || "";
    } catch (e) {
      return "";
    }
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrftoken": csrfToken() },
      body: JSON.stringify(body),
    });
  }

  function keyBytes(base64url) {
    const padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  function iosOutsideHomeScreen() {
    const ios = /iPad|iPhone|iPod/.test(navigator.userAgent) ||
      (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
    const installed = window.navigator.standalone === true || window.matchMedia("(display-mode: standalone)").matches;
    return ios && !installed;
  }

  function supported() {
    return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  }

  async function current() {
    const registration = await navigator.serviceWorker.ready;
    return registration.pushManager.getSubscription();
  }

  async function refresh() {
    if (box.dataset.pushReady !== "1") {
      return show("unset", "unset-note", null);
    }
    if (!supported()) {
      return show("unset", iosOutsideHomeScreen() ? "ios-note" : "unsupported-note", null);
    }
    if (Notification.permission === "denied") {
      return show("denied", "denied-note", null);
    }
    const subscription = Notification.permission === "granted" ? await current() : null;
    const on = subscription && (!tracking || rememberedOn());
    if (on) {
      // Told again on every visit: a browser may have replaced its subscription meanwhile.
      post(box.dataset.subscribe, subscription.toJSON()).catch(() => {});
    }
    return on ? show("on", null, "off") : show("off", null, "on");
  }

  async function turnOn() {
    show("working", null, null);
    try {
      if ((await Notification.requestPermission()) !== "granted") {
        return refresh();
      }
      const key = (await (await fetch("/push/key", { credentials: "same-origin" })).json()).key;
      const registration = await navigator.serviceWorker.ready;
      const subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(key),
      });
      const answer = await post(box.dataset.subscribe, subscription.toJSON());
      if (!answer.ok) {
        throw new Error("subscribe answered " + answer.status);
      }
      remember(true);
      return show("on", null, "off");
    } catch (error) {
      console.warn("Qianmo: phone notifications not turned on:", error);
      return show("off", "failed-note", "on");
    }
  }

  async function turnOff() {
    show("working", null, null);
    try {
      const subscription = await current();
      remember(false);
      if (subscription) {
        await post(box.dataset.unsubscribe, { endpoint: subscription.endpoint });
        if (!tracking) {
          await subscription.unsubscribe();
        }
      }
    } catch (error) {
      console.warn("Qianmo: phone notifications not turned off:", error);
    }
    return refresh();
  }

  onButton.addEventListener("click", turnOn);
  offButton.addEventListener("click", turnOff);
  refresh();
})();
