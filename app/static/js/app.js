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

  // --- Offline outbox (js/outbox.js holds the store; the service worker queues and replays) ---
  // Texts come from the server, translated, in data-* attributes: the scripts have none.
  const Outbox = window.QianmoOutbox;
  if (!Outbox || !("indexedDB" in window)) {
    return;
  }
  const PARAM = "outbox";

  function person() {
    return (document.body && document.body.dataset.person) || "";
  }

  function newUuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    const bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function outboxForms(root) {
    return Array.from((root || document).querySelectorAll("form[data-outbox]"));
  }

  function uuidInput(form) {
    return form.querySelector(`input[name="${Outbox.UUID_FIELD}"]`);
  }

  // A page may come from the worker's cache, its form with the same uuid every time: each
  // showing of the form gets a uuid of its own, so two submissions never share one.
  function freshenUuids(root) {
    outboxForms(root).forEach((form) => {
      const input = uuidInput(form);
      if (input && !form.dataset.outboxFix) {
        input.value = newUuid();
      }
    });
  }

  function worker() {
    if (!("serviceWorker" in navigator)) {
      return Promise.resolve(null);
    }
    return navigator.serviceWorker.ready.then((registration) => registration.active);
  }

  function tellWorker(message) {
    return worker().then((active) => {
      if (active) {
        active.postMessage(message);
      }
    });
  }

  // --- badge in the header: what this person has waiting (everyone's when signed out) -------
  // The sign-in page after a session ended: what the phone still holds is not lost.
  async function tellWhatWaits() {
    const note = document.querySelector("[data-outbox-waiting]");
    if (!note) {
      return;
    }
    const counts = await Outbox.counts(null);
    note.textContent = (note.dataset.text || "").replace("{n}", String(counts.total));
    note.hidden = counts.total === 0;
  }

  async function updateBadge() {
    const badge = document.querySelector("[data-outbox-badge]");
    if (!badge) {
      return;
    }
    const counts = await Outbox.counts(person());
    const count = badge.querySelector("[data-outbox-count]");
    if (count) {
      count.textContent = String(counts.mine);
    }
    badge.hidden = counts.mine === 0;
    badge.classList.toggle("has-refused", counts.refused > 0);
    await countOnMyDay();
  }

  // --- My day: the logs still on this phone count beside the server's numbers ------------------
  async function countOnMyDay() {
    const stats = document.querySelector("[data-outbox-day]");
    if (!stats) {
      return;
    }
    const waiting = (await Outbox.all()).filter((entry) => Outbox.owns(entry, person()) &&
      entry.state !== Outbox.REFUSED && !entry.public);
    stats.querySelectorAll("[data-outbox-form]").forEach((item) => {
      const n = waiting.filter((entry) => new URL(entry.url, location.href).pathname === item.dataset.outboxForm).length;
      const label = item.querySelector(".stat-waiting");
      label.textContent = (stats.dataset.waitingText || "").replace("{n}", String(n));
      label.hidden = n === 0;
    });
    const total = document.querySelector("[data-outbox-day-total]");
    if (total) {
      total.querySelector("a").textContent = (total.dataset.text || "").replace("{n}", String(waiting.length));
      total.hidden = waiting.length === 0;
    }
  }

  // --- what the entry is, written when an outbox form is submitted --------------------------
  function describe(form) {
    const title = form.dataset.outboxTitle ||
      ((document.querySelector("main h1") || {}).textContent || document.title || "").trim();
    const parts = [];
    const select = Array.from(form.querySelectorAll("select")).find((el) => el.value);
    if (select && select.selectedOptions.length) {
      parts.push(select.selectedOptions[0].textContent.trim());
    }
    // Words, not counts: the first filled-in text field that is not numeric, else a text area.
    const words = Array.from(form.querySelectorAll("input[type=text], input:not([type])"))
      .filter((el) => !/numeric|decimal/.test(el.inputMode || ""));
    const text = [...words, ...form.querySelectorAll("textarea")].find((el) => el.value.trim());
    if (text) {
      parts.push(text.value.trim().slice(0, 60));
    }
    return { title, summary: parts.join(" · ") };
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.matches("[data-outbox]")) {
      return;
    }
    const input = uuidInput(form);
    if (!input) {
      return;
    }
    if (!input.value) {
      input.value = newUuid();
    }
    Outbox.setMeta(`note:${input.value}`, describe(form)).catch(() => {});
    if (form.dataset.outboxFix) {
      // The corrected copy goes out now (or is queued again under the same uuid).
      Outbox.remove(form.dataset.outboxFix).then(updateBadge).catch(() => {});
    }
  }, true);

  // After an htmx submission the form may stay on the page: the next one needs a new uuid.
  document.addEventListener("htmx:afterRequest", (event) => {
    const form = event.detail && event.detail.elt;
    if (form instanceof HTMLFormElement && form.matches("[data-outbox]") && form.isConnected &&
        event.detail.successful) {
      delete form.dataset.outboxFix;
      const input = uuidInput(form);
      if (input) {
        input.value = newUuid();
      }
    }
  });
  document.addEventListener("htmx:load", (event) => {
    freshenUuids(event.detail && event.detail.elt && event.detail.elt.parentNode);
  });

  // --- "Fix": the form page opened with ?outbox=<uuid> refills itself from the entry --------
  function valuesByName(fields) {
    const map = new Map();
    fields.forEach(([name, value]) => {
      if (!map.has(name)) {
        map.set(name, []);
      }
      map.get(name).push(value);
    });
    return map;
  }

  function fillForm(form, entry) {
    const values = valuesByName(entry.fields);
    const controls = Array.from(form.elements).filter((el) => el.name && el.name !== Outbox.CSRF_FIELD);
    const names = new Set(controls.map((el) => el.name));
    names.forEach((name) => {
      const own = controls.filter((el) => el.name === name);
      const given = values.get(name) || [];
      const first = own[0];
      if (first.type === "file") {
        const files = given.filter((value) => typeof value !== "string" && value.size > 0);
        if (files.length && typeof DataTransfer === "function") {
          const transfer = new DataTransfer();
          files.forEach((file) => transfer.items.add(file instanceof File ? file
            : new File([file], file.name || "photo.jpg", { type: file.type })));
          first.files = transfer.files;
          first.dispatchEvent(new Event("change", { bubbles: true }));
        }
      } else if (first.type === "checkbox" || first.type === "radio") {
        own.forEach((el) => { el.checked = given.includes(el.value); });
      } else if (first.tagName === "SELECT" && first.multiple) {
        Array.from(first.options).forEach((option) => { option.selected = given.includes(option.value); });
      } else if (values.has(name)) {
        own.forEach((el, index) => {
          if (typeof given[index] === "string") {
            el.value = given[index];
          }
        });
      }
    });
    // Let the form's own script react (shown/hidden parts), and show filled parts it hid.
    controls.filter((el) => el.type !== "hidden" && values.has(el.name)).forEach((el) => {
      el.dispatchEvent(new Event("change", { bubbles: true }));
      const hidden = el.closest("[hidden]");
      if (hidden && form.contains(hidden) && (el.checked || (el.type !== "checkbox" && el.type !== "radio" && el.value))) {
        hidden.hidden = false;
      }
    });
    form.dataset.outboxFix = entry.uuid;
    const input = uuidInput(form);
    if (input) {
      input.value = entry.uuid; // a corrected copy replaces the entry, it never adds one
    }
    showEntryErrors(form, entry);
  }

  function showEntryErrors(form, entry) {
    form.querySelectorAll(".outbox-fix-error").forEach((el) => el.remove());
    const notice = document.createElement("p");
    notice.className = "flash error outbox-fix-error";
    notice.setAttribute("role", "alert");
    const intro = document.body.dataset.outboxFix || "";
    notice.textContent = [intro, entry.message].filter(Boolean).join(" ");
    form.prepend(notice);
    Object.entries(entry.errors || {}).forEach(([name, message]) => {
      const control = form.querySelector(`[name="${CSS.escape(name)}"]`);
      if (!control || typeof message !== "string") {
        return;
      }
      const note = document.createElement("p");
      note.className = "error outbox-fix-error";
      note.id = `outbox-error-${name}`;
      note.textContent = message;
      const box = control.closest(".field, fieldset, div") || control.parentNode;
      box.append(note);
      control.setAttribute("aria-invalid", "true");
      control.setAttribute("aria-describedby", note.id);
    });
  }

  async function refillFromOutbox() {
    const uuid = new URLSearchParams(location.search).get(PARAM);
    if (!uuid) {
      return;
    }
    const entry = await Outbox.get(uuid);
    const forms = outboxForms();
    if (!entry || !forms.length || !Outbox.owns(entry, person())) {
      return;
    }
    const path = new URL(entry.url, location.href).pathname;
    const form = forms.find((el) => new URL(el.action, location.href).pathname === path) || forms[0];
    fillForm(form, entry);
  }

  // --- the outbox page (/outbox) ----------------------------------------------------------
  function fmt(template, values) {
    return String(template || "").replace(/%\((\w+)\)s/g, (all, name) =>
      (name in values ? String(values[name]) : all));
  }

  // A path on this site, else "": the rule of app/domain/redirects.safe_next (one "/", then
  // neither "/" nor "\\", no backslash, control character or whitespace anywhere). Every target
  // a script navigates to from a URL or a server answer goes through it (passkey.js too).
  function safePath(value) {
    return typeof value === "string" && /^\/(?![\/\\])/.test(value) && !/[\\\s\p{C}\p{Z}]/u.test(value)
      ? value : "";
  }
  window.Qianmo = Object.assign(window.Qianmo || {}, { safePath });

  function entryCard(box, entry, mine) {
    const item = document.getElementById("outbox-item").content.firstElementChild.cloneNode(true);
    const texts = box.dataset;
    const refused = entry.state === Outbox.REFUSED;
    item.dataset.uuid = entry.uuid;
    item.classList.add(mine ? (refused ? "is-refused" : "is-waiting") : "is-other");
    item.querySelector(".outbox-title").textContent = entry.title || new URL(entry.url, location.href).pathname;
    const state = item.querySelector(".outbox-state");
    state.textContent = mine ? (refused ? texts.refused : texts.waiting) : texts.otherUser;
    const summary = item.querySelector(".outbox-summary");
    // Another user's entry: what it is, not what it says (the phone may be passed around).
    if (!mine) {
      summary.remove();
    }
    const photos = entry.fields.filter(([, value]) => typeof value !== "string" && value.size > 0).length;
    summary.textContent = [entry.summary, photos ? texts.photo : ""].filter(Boolean).join(" · ");
    summary.hidden = !summary.textContent || !mine;
    const when = new Intl.DateTimeFormat(document.documentElement.lang || undefined,
      { dateStyle: "medium", timeStyle: "short" }).format(new Date(entry.savedAt));
    item.querySelector(".outbox-time").textContent = fmt(texts.savedAt, { time: when }) +
      (mine && entry.attempts && !refused ? ` · ${fmt(texts.tries, { num: entry.attempts })}` : "");
    const message = item.querySelector(".outbox-message");
    if (mine && refused) {
      message.hidden = false;
      const lead = document.createElement("p");
      lead.textContent = entry.message || texts.refusedGeneric;
      message.append(lead);
      const details = Object.values(entry.errors || {}).filter((text) => typeof text === "string" && text !== entry.message);
      if (details.length) {
        const list = document.createElement("ul");
        details.forEach((text) => {
          const li = document.createElement("li");
          li.textContent = text;
          list.append(li);
        });
        message.append(list);
      }
    }
    const buttons = item.querySelector(".outbox-buttons");
    if (!mine) {
      buttons.remove();
      return item;
    }
    const fix = item.querySelector(".outbox-fix");
    const target = new URL(entry.url, location.href);
    target.searchParams.set(PARAM, entry.uuid);
    fix.href = safePath(target.pathname + target.search) || "/outbox";
    item.querySelector(".outbox-discard").addEventListener("click", async () => {
      if (!window.confirm(texts.confirm)) {
        return;
      }
      await Outbox.remove(entry.uuid);
      await drawOutbox();
      await updateBadge();
    });
    return item;
  }

  async function drawOutbox() {
    const box = document.getElementById("outbox");
    if (!box) {
      return;
    }
    const me = person();
    const entries = await Outbox.all();
    // Those that need the person first (not accepted), then the newest.
    entries.sort((a, b) => ((b.state === Outbox.REFUSED) - (a.state === Outbox.REFUSED)) || b.savedAt - a.savedAt);
    const mine = entries.filter((entry) => Outbox.owns(entry, me));
    const others = entries.filter((entry) => !Outbox.owns(entry, me));
    document.getElementById("outbox-list").replaceChildren(...mine.map((entry) => entryCard(box, entry, true)));
    document.getElementById("outbox-others").replaceChildren(...others.map((entry) => entryCard(box, entry, false)));
    document.getElementById("outbox-others-box").hidden = others.length === 0;
    document.getElementById("outbox-empty").hidden = mine.length > 0;
    const offline = navigator.onLine === false;
    document.getElementById("outbox-send").parentElement.hidden = mine.length === 0 || offline;
    // "Saved on this phone, will send" only while something of theirs is still waiting; the
    // plain list says "no connection" itself.
    const waiting = mine.some((entry) => entry.state !== Outbox.REFUSED);
    const queued = document.getElementById("outbox-queued");
    queued.hidden = !(box.dataset.queued && waiting);
    document.getElementById("outbox-keep").hidden = queued.hidden ||
      !mine.some((entry) => entry.public && entry.state !== Outbox.REFUSED);
    await drawReceipts();
    if (offline && waiting && queued.hidden) {
      setStatus(box.dataset.offline, "");
    }
  }

  // Public entries sent from this phone: the server's answer, with the tracking code and its link.
  async function drawReceipts() {
    const list = document.getElementById("outbox-receipts");
    if (!list) {
      return;
    }
    const receipts = await Outbox.receipts();
    list.replaceChildren(...receipts.map((receipt) => {
      const item = document.getElementById("outbox-receipt").content.firstElementChild.cloneNode(true);
      item.querySelector(".outbox-title").textContent = receipt.title || "";
      const summary = item.querySelector(".outbox-summary");
      summary.textContent = receipt.summary || "";
      summary.hidden = !summary.textContent;
      item.querySelector(".outbox-receipt-message").textContent = receipt.message || "";
      const code = item.querySelector(".outbox-code");
      code.querySelector("strong").textContent = receipt.code || "";
      code.hidden = !receipt.code;
      const link = item.querySelector(".outbox-follow");
      link.href = safePath(receipt.url) || "/t";
      link.hidden = !receipt.code;
      return item;
    }));
    document.getElementById("outbox-receipts-box").hidden = receipts.length === 0;
  }

  function setStatus(text, kind) {
    const status = document.getElementById("outbox-status");
    if (status) {
      status.textContent = text || "";
      status.className = `outbox-status${kind ? ` ${kind}` : ""}`;
    }
  }

  function reportReplay(result) {
    const box = document.getElementById("outbox");
    if (!box || !result || result.busy) {
      return;
    }
    const texts = box.dataset;
    const parts = [];
    if (result.sent) {
      parts.push(fmt(texts.sent, { num: result.sent }));
    }
    if (result.refused) {
      parts.push(fmt(texts.refusedCount, { num: result.refused }));
    }
    if (result.signedOut) {
      parts.push(texts.signedOut);
    } else if (result.offline) {
      parts.push(texts.offline);
    }
    if (!parts.length) {
      // A second round that found nothing (the worker and the page both replay when the
      // signal returns) keeps what the first one said, such as "Not accepted: 1."
      const shown = document.getElementById("outbox-status");
      if (shown && shown.classList.contains("error")) {
        return;
      }
      parts.push(texts.nothing);
    }
    setStatus(parts.join(" "), result.refused || result.signedOut ? "error" : (result.offline ? "" : "ok"));
  }

  function setUpOutboxPage() {
    const box = document.getElementById("outbox");
    if (!box) {
      return;
    }
    const params = new URLSearchParams(location.search);
    if (params.get("queued")) {
      box.dataset.queued = "1";
      const again = safePath(params.get("again") || "");
      const link = document.getElementById("outbox-again");
      if (again) {
        link.href = again;
        link.hidden = false;
      }
    }
    document.getElementById("outbox-send").addEventListener("click", () => {
      if (navigator.onLine === false) {
        setStatus(box.dataset.offline, "");
        return;
      }
      setStatus(box.dataset.sending, "");
      tellWorker({ type: "replay", manual: true });
    });
    drawOutbox();
  }

  // --- messages from the worker: something was queued, a replay started or ended -----------
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", (event) => {
      const data = event.data || {};
      if (data.type !== "qianmo-outbox") {
        return;
      }
      if (data.phase === "start") {
        const box = document.getElementById("outbox");
        if (box && document.getElementById("outbox-list").children.length) {
          setStatus(box.dataset.sending, "");
        }
        return;
      }
      updateBadge();
      drawOutbox();
      if (data.phase === "done") {
        reportReplay(data.result);
        retryIfOnline(data.result);
      }
    });
  }

  // --- on every page load: who is here, what to keep offline, send what waits ---------------
  // The page may hear "online" before the worker's network is back (and a phone's signal
  // flickers): a replay that found no network while the page says online is tried again a
  // few times, a little later each time.
  let retries = 0;
  function retryIfOnline(result) {
    if (result && result.offline && navigator.onLine !== false && retries < 5) {
      retries += 1;
      setTimeout(replayIfWaiting, 2000 * retries);
    } else if (result && !result.offline) {
      retries = 0;
    }
  }

  async function replayIfWaiting() {
    if (navigator.onLine === false) {
      return;
    }
    const counts = await Outbox.counts(person());
    // Nobody signed in: a resident's report or a volunteer's registration still goes.
    if (person() ? counts.waiting > 0 : counts.publicWaiting > 0) {
      tellWorker({ type: "replay" });
    }
  }

  async function start() {
    const me = person();
    // A page is trusted to say who is signed in unless the worker showed it in place of
    // another (the cached /offline page for a page it does not have).
    const genuine = document.body.dataset.page === location.pathname;
    try {
      if (genuine) {
        await Outbox.setMeta("person", me ? Number(me) : null);
      }
    } catch (error) {
      console.warn("Qianmo: outbox not available:", error);
      return;
    }
    // A public form (no session) needs the outbox page offline too: its post may wait there.
    if (genuine && navigator.onLine !== false && (me || outboxForms().length)) {
      const listed = me ? (document.body.dataset.offlineUrls || "").split(/\s+/).filter(Boolean) : [];
      const urls = Array.from(new Set([...listed, "/outbox"]));
      tellWorker({ type: "precache", urls, person: me });
    }
    setUpOutboxPage();
    await refillFromOutbox();
    await updateBadge();
    await tellWhatWaits();
    await replayIfWaiting();
  }

  window.addEventListener("pageshow", (event) => {
    freshenUuids(document);
    if (event.persisted) {
      updateBadge(); // back/forward cache: the outbox may have changed meanwhile
    }
  });
  window.addEventListener("online", replayIfWaiting);
  window.addEventListener("online", drawOutbox);
  window.addEventListener("offline", drawOutbox);

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
