// Qianmo offline outbox: the IndexedDB store of form posts that could not reach the server,
// and their replay. One file for both sides: pages load it with a <script> tag (badge, outbox
// page, "Fix"), the service worker with importScripts (queueing, replay). It defines
// self.QianmoOutbox and touches nothing else. Plain ES2020, no libraries.
//
// Database "qianmo-outbox":
//   entries  key uuid (the form's client_uuid): {uuid, person, url, method, enctype, fields,
//            title, summary, savedAt, state "waiting"|"refused", status, message, errors,
//            attempts, triedAt, public}. fields = [[name, string | File], ...] in form order.
//            public: the form carried outbox_public=1 (a resident's report, a volunteer's
//            registration): anyone on this phone may send it, signed in or not.
//   meta     key "key": {key, value}. "person" = who is signed in on this browser (set by each
//            page load, cleared on sign-out); "note:<uuid>" = {title, summary} written by the
//            page when an outbox form is submitted, so that the entry can be listed by what it
//            is (the worker cannot see the page); removed once the post is queued or sent.
//            "receipt:<uuid>" = {uuid, title, summary, code, url, message, sentAt}: what the
//            server answered a public entry (its tracking code), kept for the outbox page.
//
// Replay (service worker only, so that a failed replay is never queued a second time by the
// worker's own fetch handler): GET /csrf for a fresh token and the signed-in person's id, then
// each of that person's entries (nobody signed in: only the public ones), oldest first, as the original multipart/urlencoded body with
// _csrf_token replaced, X-Outbox-Replay: 1 and x-csrftoken. 2xx: sent, removed. 401 or a
// redirect to /signin: stop, all stay waiting. 403: new token, one retry, then refused.
// Other 4xx: refused, with the server's message. 429, 5xx or no network: stays waiting.
(function (global) {
  "use strict";

  const DB_NAME = "qianmo-outbox";
  const DB_VERSION = 1;
  const ENTRIES = "entries";
  const META = "meta";
  const WAITING = "waiting";
  const REFUSED = "refused";
  const SYNC_TAG = "qianmo-outbox";
  const LOCK = "qianmo-outbox-replay";
  const CSRF_FIELD = "_csrf_token";
  const UUID_FIELD = "client_uuid";
  const PUBLIC_FIELD = "outbox_public";
  const RECEIPT = "receipt:";

  let dbPromise = null;

  function open() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const request = indexedDB.open(DB_NAME, DB_VERSION);
        request.onupgradeneeded = () => {
          const db = request.result;
          if (!db.objectStoreNames.contains(ENTRIES)) {
            db.createObjectStore(ENTRIES, { keyPath: "uuid" });
          }
          if (!db.objectStoreNames.contains(META)) {
            db.createObjectStore(META, { keyPath: "key" });
          }
        };
        request.onsuccess = () => {
          const db = request.result;
          // A newer version elsewhere (a new worker) must not be blocked by this connection.
          db.onversionchange = () => { db.close(); dbPromise = null; };
          resolve(db);
        };
        request.onerror = () => { dbPromise = null; reject(request.error); };
        request.onblocked = () => { /* waits for the other connection to close */ };
      });
    }
    return dbPromise;
  }

  // run(store, mode, fn): fn(objectStore) returns an IDBRequest (or nothing); resolves with
  // the request's result once the transaction has committed.
  async function run(storeName, mode, fn) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(storeName, mode);
      const request = fn(transaction.objectStore(storeName));
      transaction.oncomplete = () => resolve(request ? request.result : undefined);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error || new Error("aborted"));
    });
  }

  async function all() {
    const entries = (await run(ENTRIES, "readonly", (store) => store.getAll())) || [];
    return entries.sort((a, b) => a.savedAt - b.savedAt);
  }

  function get(uuid) {
    return run(ENTRIES, "readonly", (store) => store.get(uuid));
  }

  function put(entry) {
    return run(ENTRIES, "readwrite", (store) => store.put(entry));
  }

  function remove(uuid) {
    return run(ENTRIES, "readwrite", (store) => store.delete(uuid));
  }

  async function getMeta(key) {
    const row = await run(META, "readonly", (store) => store.get(key));
    return row ? row.value : undefined;
  }

  function setMeta(key, value) {
    return run(META, "readwrite", (store) => store.put({ key, value }));
  }

  // Whose entry is it? An entry saved before anyone was known (person null) belongs to
  // whoever is signed in when it is sent.
  function owns(entry, person) {
    return Boolean(entry.public) || entry.person === null || entry.person === undefined || String(entry.person) === String(person);
  }

  async function counts(person) {
    const entries = await all();
    const mine = person ? entries.filter((entry) => owns(entry, person)) : entries;
    return {
      total: entries.length,
      mine: mine.length,
      waiting: mine.filter((entry) => entry.state !== REFUSED).length,
      publicWaiting: entries.filter((entry) => entry.public && entry.state !== REFUSED).length,
      refused: mine.filter((entry) => entry.state === REFUSED).length,
    };
  }

  function fieldsOf(formData) {
    const fields = [];
    for (const [name, value] of formData.entries()) {
      fields.push([name, value]);
    }
    return fields;
  }

  // The stored body again, with the fresh CSRF token instead of the one saved with it.
  function bodyOf(entry, token) {
    const multipart = entry.enctype !== "application/x-www-form-urlencoded";
    const body = multipart ? new FormData() : new URLSearchParams();
    let hadToken = false;
    for (const [name, value] of entry.fields) {
      if (name === CSRF_FIELD) {
        hadToken = true;
        body.append(name, token);
      } else if (multipart && typeof value !== "string") {
        body.append(name, value, value.name || "");
      } else {
        body.append(name, typeof value === "string" ? value : "");
      }
    }
    if (!hadToken) {
      body.append(CSRF_FIELD, token);
    }
    return body;
  }

  function removeMeta(key) {
    return run(META, "readwrite", (store) => store.delete(key));
  }

  // What the server answered the public entries sent from this phone, newest first.
  async function receipts() {
    const rows = (await run(META, "readonly", (store) => store.getAll())) || [];
    return rows.filter((row) => String(row.key).startsWith(RECEIPT)).map((row) => row.value)
      .sort((a, b) => b.sentAt - a.sentAt);
  }

  function keepReceipt(entry, data) {
    return setMeta(`${RECEIPT}${entry.uuid}`, {
      uuid: entry.uuid, title: entry.title, summary: entry.summary, sentAt: Date.now(),
      code: typeof data.code === "string" ? data.code : "",
      url: typeof data.url === "string" ? data.url : "",
      message: typeof data.message === "string" ? data.message : "",
    });
  }

  async function newEntry({ uuid, url, method, enctype, fields }) {
    const path = new URL(url, global.location.href).pathname;
    const note = (await getMeta(`note:${uuid}`)) || {};
    const person = await getMeta("person");
    return {
      uuid,
      person: person === undefined ? null : person,
      url,
      method: method || "POST",
      enctype: /urlencoded/i.test(enctype || "") ? "application/x-www-form-urlencoded" : "multipart/form-data",
      fields,
      title: note.title || path,
      summary: note.summary || "",
      savedAt: Date.now(),
      state: WAITING,
      status: 0,
      message: "",
      errors: {},
      attempts: 0,
      triedAt: 0,
      public: fields.some(([name, value]) => name === PUBLIC_FIELD && value === "1"),
    };
  }

  // --- replay ---------------------------------------------------------------------------

  async function freshToken() {
    let response;
    try {
      response = await fetch("/csrf", {
        credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" },
      });
    } catch (error) {
      return { offline: true };
    }
    const json = /json/i.test(response.headers.get("Content-Type") || "");
    if (response.status === 401 || response.status === 403 || (response.redirected && !json) ||
        (response.ok && !json)) {
      return { signedOut: true };
    }
    if (!response.ok) {
      return { offline: true }; // the server is in trouble: try again later
    }
    const data = await response.json();
    return { token: data.token, person: data.person };
  }

  async function readJson(response) {
    if (!/json/i.test(response.headers.get("Content-Type") || "")) {
      return {};
    }
    try {
      return (await response.json()) || {};
    } catch (error) {
      return {};
    }
  }

  async function send(entry, token) {
    let response;
    try {
      response = await fetch(entry.url, {
        method: entry.method,
        body: bodyOf(entry, token),
        headers: { "X-Outbox-Replay": "1", "x-csrftoken": token, Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
        redirect: "follow",
      });
    } catch (error) {
      return { outcome: "offline" };
    }
    const landed = new URL(response.url || entry.url, global.location.href).pathname;
    if (response.status === 401 || (response.redirected && /^\/signin(\/|$)/.test(landed))) {
      return { outcome: "signedOut" };
    }
    if (response.ok) {
      return { outcome: "sent", data: await readJson(response) };
    }
    if (response.status === 403) {
      return { outcome: "forbidden", status: 403, data: await readJson(response) };
    }
    if (response.status === 429) {
      return { outcome: "failed", status: 429 }; // too many just now: later, not refused
    }
    if (response.status >= 400 && response.status < 500) {
      return { outcome: "refused", status: response.status, data: await readJson(response) };
    }
    return { outcome: response.status >= 502 ? "offline" : "failed", status: response.status };
  }

  function refuse(entry, result) {
    const data = result.data || {};
    entry.state = REFUSED;
    entry.status = result.status || 0;
    entry.message = typeof data.message === "string" ? data.message : "";
    entry.errors = data.errors && typeof data.errors === "object" ? data.errors : {};
  }

  // Sends the signed-in person's entries: "waiting" ones, and "refused" ones too when the
  // person asked for it (manual). Resolves with a summary for the pages.
  async function replayOnce(manual) {
    const summary = { sent: 0, refused: 0, waiting: 0, signedOut: false, offline: false, ids: [] };
    const tried = new Set();
    let token = null;
    let person = null;
    for (;;) {
      const entries = (await all()).filter((entry) => !tried.has(entry.uuid) &&
        (manual || entry.state !== REFUSED));
      if (!entries.length) {
        break;
      }
      if (token === null) {
        const fresh = await freshToken();
        if (!fresh.token) {
          summary.signedOut = Boolean(fresh.signedOut);
          summary.offline = Boolean(fresh.offline);
          break;
        }
        token = fresh.token;
        person = fresh.person === undefined ? null : fresh.person;
        await setMeta("person", person);
      }
      // Nobody signed in: the public entries go; the others wait for their owner's sign-in.
      const mine = entries.filter((entry) => (person === null ? entry.public : owns(entry, person)));
      if (person === null && entries.some((entry) => !entry.public)) {
        summary.signedOut = true;
      }
      entries.forEach((entry) => tried.add(entry.uuid));
      let stop = false;
      for (const entry of mine) {
        let result = await send(entry, token);
        if (result.outcome === "forbidden") {
          // Perhaps the CSRF cookie changed since the token was fetched: once more, fresh.
          const fresh = await freshToken();
          if (fresh.token) {
            token = fresh.token;
            result = await send(entry, token);
          }
        }
        const current = await get(entry.uuid);
        if (!current) {
          continue; // discarded by the person meanwhile
        }
        current.attempts = (current.attempts || 0) + 1;
        current.triedAt = Date.now();
        if (result.outcome === "sent") {
          if (current.public) {
            await keepReceipt(current, result.data || {});
          }
          await remove(entry.uuid);
          summary.sent += 1;
          summary.ids.push(entry.uuid);
        } else if (result.outcome === "refused" || result.outcome === "forbidden") {
          refuse(current, result);
          await put(current);
          summary.refused += 1;
        } else {
          current.status = result.status || 0;
          await put(current);
          if (result.outcome === "signedOut") {
            summary.signedOut = true;
            stop = true;
          } else if (result.outcome === "offline") {
            summary.offline = true;
            stop = true;
          }
        }
        if (stop) {
          break;
        }
      }
      if (stop) {
        break;
      }
    }
    const left = await counts(person);
    summary.waiting = left.waiting;
    return summary;
  }

  // One replay at a time across the worker and every tab (a Web Lock where there is one);
  // a replay asked for while one runs is skipped: the running one picks up new entries.
  function replay(options) {
    const manual = Boolean(options && options.manual);
    const locks = global.navigator && global.navigator.locks;
    if (locks && locks.request) {
      return locks.request(LOCK, { ifAvailable: true }, (lock) =>
        lock ? replayOnce(manual) : { busy: true });
    }
    if (global.__qianmoReplay) {
      return Promise.resolve({ busy: true });
    }
    global.__qianmoReplay = replayOnce(manual).finally(() => { global.__qianmoReplay = null; });
    return global.__qianmoReplay;
  }

  global.QianmoOutbox = {
    WAITING, REFUSED, SYNC_TAG, UUID_FIELD, CSRF_FIELD,
    open, all, get, put, remove, getMeta, setMeta, removeMeta, owns, counts, fieldsOf, bodyOf, newEntry, replay,
    receipts,
  };
})(self);
