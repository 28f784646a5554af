// The app's start and its wiring: storage, the outbox and its sender, the reads, the screens.
// js/boot.js has already taken an enrolment code out of the address bar and history.

import { openStore } from "./store.js";
import { Outbox, makeRecord, MENUNGGU } from "./outbox.js";
import { createSender } from "./sender.js";
import { createApi, redeemFailure } from "./api.js";
import { uuid7 } from "./uuid7.js";
import { readingOf, stampOf } from "./clock.js";
import { pingEvent, incidentEvent, sosEvent, custodyEvent } from "./events.js";
import { shrink } from "./photos.js";
import { setLang, t } from "./i18n.js";
import { createUi, ROUTES } from "./ui.js";

const LANG_KEY = "posko-lapor-lang";
const ENROL_PREFIX = "#daftar=";
const CLOCK_EVERY_MS = 5 * 60000;
const HOME_EVERY_MS = 2 * 60000;
const FIX_FRESH_MS = 2 * 60000; // a location this recent is attached without asking again
const FIX_USABLE_MS = 5 * 60000; // …and one this recent when the phone gives no new one in time

const enrolCode = typeof window.poskoEnrolCode === "string" ? window.poskoEnrolCode : null;
delete window.poskoEnrolCode;

const version = (document.querySelector('meta[name="posko-version"]') || {}).content || "dev";
const state = {
  cred: null, // {token, credential_id, officer}
  home: null, // {officer, tps, exercise, fetchedAt, stale}
  search: { q: "", results: [], state: "idle" },
  clock: null,
  revoked: null, // the reason, when the server refused this phone's credential
  reachedAt: null,
  persisted: false,
  enrol: null,
  fix: null, // {lat, lon, accuracy, at}
};

try {
  setLang(localStorage.getItem(LANG_KEY) || "id");
} catch {
  setLang("id");
}

const store = openStore();
const api = createApi({ fetch: (...a) => fetch(...a), token: () => (state.cred ? state.cred.token : null) });
let outbox = new Outbox([]);
let sender = null;
let ui = null;

// ---- what the screens show ---------------------------------------------------------------------

function view() {
  const st = sender ? sender.status() : { state: "idle", lastReachedAt: null };
  const reached = Math.max(st.lastReachedAt || 0, state.reachedAt || 0) || null;
  return {
    enrolled: !!state.cred,
    officer: state.cred ? state.cred.officer : null,
    nrp: state.cred && state.cred.officer ? state.cred.officer.nrp : null,
    revoked: state.revoked,
    online: navigator.onLine !== false,
    lastReachedAt: reached,
    senderState: st.state,
    unsent: outbox.unsent(),
    home: state.home,
    search: state.search,
    records: outbox.list(),
    counts: outbox.counts(),
    clock: state.clock,
    persisted: state.persisted,
    version,
    enrol: state.enrol,
  };
}

let renderTimer = null;
function render() {
  // Coalesced: a flush of 200 reports changes the outbox hundreds of times.
  if (renderTimer !== null || !ui) return;
  renderTimer = setTimeout(() => {
    renderTimer = null;
    const sent = sender ? sender.status().lastReachedAt : null;
    if (sent && sent > (state.reachedAt || 0) + 10000) reached(sent); // kept across restarts
    ui.update(view());
  }, 50);
}

function routeOfHash() {
  const r = location.hash.replace(/^#/, "");
  return ROUTES.includes(r) ? r : "beranda";
}

function go(route) {
  if (location.hash === "#" + route) ui.show(route, view());
  else location.hash = route; // hashchange shows it; the back button goes back
}

function reached(at = Date.now()) {
  state.reachedAt = at;
  store.set("reached_at", state.reachedAt).catch(() => {});
}

// ---- location: attached when the phone gives one quickly, never required -------------------------

function position(waitMs) {
  const now = Date.now();
  if (state.fix && now - state.fix.at < FIX_FRESH_MS) return Promise.resolve(state.fix);
  if (!navigator.geolocation) return Promise.resolve(null);
  return new Promise((resolve) => {
    let done = false;
    const finish = (fix) => {
      if (done) return;
      done = true;
      resolve(fix);
    };
    setTimeout(() => finish(state.fix && Date.now() - state.fix.at < FIX_USABLE_MS ? state.fix : null), waitMs);
    try {
      navigator.geolocation.getCurrentPosition(
        (p) => {
          state.fix = { lat: p.coords.latitude, lon: p.coords.longitude, accuracy: p.coords.accuracy, at: Date.now() };
          finish(state.fix);
        },
        () => finish(null),
        { enableHighAccuracy: true, timeout: waitMs, maximumAge: FIX_FRESH_MS },
      );
    } catch {
      finish(null);
    }
  });
}

/** Warm the location up when the officer already allowed it (no prompt at start). */
async function warmLocation() {
  try {
    const p = await navigator.permissions.query({ name: "geolocation" });
    if (p.state === "granted") position(10000);
  } catch {
    /* no Permissions API: the first report asks */
  }
}

// ---- making reports ------------------------------------------------------------------------------

let making = Promise.resolve();

/**
 * Queue a report. Its event_id and device_time are taken now, at the tap; the location is
 * waited for a few seconds at most; reports are queued strictly in the order of the taps.
 * Resolves true once it is in the phone's storage, "no-location" when it needs a place it
 * does not have, false when the phone could not store it.
 */
function queueReport(build, { photos = [], waitMs = 3000, summary = null } = {}) {
  const id = uuid7();
  const time = stampOf(Date.now(), state.clock);
  const nrp = state.cred && state.cred.officer ? state.cred.officer.nrp : null;
  const job = making.then(async () => {
    const fix = await position(waitMs);
    const event = build({ id, time, fix });
    if (!event) return "no-location";
    const record = makeRecord(event, { seq: outbox.nextSeq(), now: Date.now(), nrp, photos: photos.length, summary });
    await store.addReport(record, photos);
    outbox.add(record);
    render();
    if (sender) sender.kick();
    return true;
  });
  making = job.catch(() => {});
  return job.catch(() => {
    ui.toast(t("save_failed"), "bad");
    return false;
  });
}

const actions = {
  go,
  async ping({ tps, phase, situation, note }) {
    const ok = await queueReport(({ id, time, fix }) => pingEvent({ id, time, tps, phase, situation, note, fix }));
    if (ok === true) ui.toast(t("queued_ok"));
    return ok === true;
  },
  async incident({ category, severity, tps, description, photos }) {
    const ok = await queueReport(
      ({ id, time, fix }) => (tps || fix ? incidentEvent({ id, time, category, severity, tps, description, fix }) : null),
      { photos, waitMs: tps ? 3000 : 8000 },
    );
    if (ok === true) ui.toast(t("queued_ok"));
    return ok;
  },
  async custody({ tps, step, seals, vehicle, escorts, baNumber, receiver, photos = [] }) {
    // Only a segel carries a photo (of its seals); the server takes one.
    const kept = step === "segel" ? photos.slice(0, 1) : [];
    const ok = await queueReport(
      ({ id, time, fix }) => custodyEvent({ id, time, tps, step, seals, vehicle, escorts, baNumber, receiver, fix }),
      { photos: kept },
    );
    if (ok === true) ui.toast(t("queued_ok"));
    return ok === true;
  },
  async sos() {
    const ok = await queueReport(({ id, time, fix }) => sosEvent({ id, time, fix }), { waitMs: 2000 });
    if (ok === true) ui.toast(t("sos_queued"), "bad");
    render();
    return ok;
  },
  async dismiss(id) {
    const nrp = state.cred && state.cred.officer ? state.cred.officer.nrp : null;
    const gone = outbox.dismiss(id, { nrp });
    if (gone) await store.deleteReports([gone]).catch(() => {});
    render();
  },
  async clearHistory() {
    const gone = outbox.clearHistory();
    if (gone.length) await store.deleteReports(gone).catch(() => {});
    render();
  },
  sendNow() {
    if (sender) sender.kick();
    syncClock();
    render();
  },
  async search(q) {
    state.search = { q, results: [], state: q ? "working" : "idle" };
    render();
    if (!q) return;
    const a = await api.searchTps(q);
    if (a.ok && a.body && Array.isArray(a.body.data)) {
      reached();
      state.search = { q, results: a.body.data, state: "done" };
    } else if (a.revoked) {
      revokedBy(a.reason);
      state.search = { q, results: [], state: "failed" };
    } else {
      state.search = { q, results: [], state: a.offline ? "offline" : "failed" };
    }
    render();
  },
  refresh() {
    refreshHome();
    syncClock();
    if (sender) sender.kick();
  },
  setLang(lang) {
    setLang(lang);
    try {
      localStorage.setItem(LANG_KEY, lang);
    } catch {
      /* private mode: the choice lasts this visit */
    }
    ui.show(ui.route, view());
  },
  shrinkPhoto: (file) => shrink(file).catch(() => null),
};

// ---- the server ----------------------------------------------------------------------------------

function revokedBy(reason) {
  if (sender && sender.state !== "revoked") sender.revoke(reason || "revoked");
  else onRevoked(reason);
}

function onRevoked(reason) {
  if (state.revoked) return;
  state.revoked = reason || "revoked";
  store.set("revoked", state.revoked).catch(() => {});
  render();
}

async function refreshHome() {
  if (!state.cred) return;
  const a = await api.me();
  if (a.ok && a.body && Array.isArray(a.body.tps)) {
    reached();
    state.home = {
      officer: a.body.officer,
      tps: a.body.tps,
      exercise: a.body.exercise || null,
      fetchedAt: Date.now(),
      stale: false,
    };
    if (a.body.officer) state.cred = { ...state.cred, officer: a.body.officer };
    store.set("home", state.home).catch(() => {});
    store.set("credential", state.cred).catch(() => {});
  } else if (a.revoked) {
    revokedBy(a.reason);
  } else if (state.home) {
    state.home = { ...state.home, stale: true };
  }
  render();
}

async function syncClock() {
  const sentAt = Date.now();
  const a = await api.clock();
  const receivedAt = Date.now();
  if (!a.ok || !a.body) return;
  reached();
  const reading = readingOf(a.body, sentAt, receivedAt);
  if (reading) {
    state.clock = reading;
    store.set("clock", reading).catch(() => {});
  }
  render();
}

async function enrol(code) {
  state.enrol = { state: "working" };
  ui.show("daftar", view());
  const a = code ? await api.redeem(code) : { ok: false, status: 404 };
  if (a.ok && a.body && a.body.token) {
    reached();
    const officer = a.body.officer || null;
    const before = state.cred && state.cred.officer ? state.cred.officer.nrp : null;
    state.cred = { token: a.body.token, credential_id: a.body.credential_id, officer };
    await store.set("credential", state.cred);
    state.revoked = null;
    await store.remove("revoked").catch(() => {});
    if (before && officer && before !== officer.nrp) {
      state.home = null; // another officer's TPS
      await store.remove("home").catch(() => {});
    }
    const others = outbox
      .list()
      .filter((r) => r.state === MENUNGGU && r.nrp && officer && r.nrp !== officer.nrp).length;
    state.enrol = { state: "ok", officer, others };
    if (sender) sender.resume();
    refreshHome();
    syncClock();
  } else {
    state.enrol = { state: "failed", code: redeemFailure(a) };
  }
  ui.show("daftar", view());
}

function startSender() {
  const secure = location.protocol === "https:";
  sender = createSender({
    outbox,
    token: () => (state.cred ? state.cred.token : null),
    nrp: () => (state.cred && state.cred.officer ? state.cred.officer.nrp : null),
    urls: { ws: `${secure ? "wss" : "ws"}://${location.host}/ws/field`, http: location.origin },
    openSocket: (url, protocols) => new WebSocket(url, protocols),
    fetch: (...a) => fetch(...a),
    clock: { now: () => Date.now(), setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (id) => clearTimeout(id) },
    random: Math.random,
    save: (records) => store.saveReports(records),
    forget: (records) => store.deleteReports(records),
    loadPhoto: (id, index) => store.loadPhoto(id, index),
    dropPhoto: (id, index) => store.dropPhoto(id, index),
    onChange: render,
    onRevoked,
  });
  sender.listen(window, document);
}

function startServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/lapor/sw.js", { scope: "/lapor/" }).catch(() => {
    /* no service worker (not a secure context): the app still works while online */
  });
}

async function askPersistence() {
  try {
    if (!navigator.storage || !navigator.storage.persist) return;
    state.persisted = (await navigator.storage.persisted()) || (await navigator.storage.persist());
  } catch {
    state.persisted = false;
  }
  render();
}

async function start() {
  ui = createUi({ doc: document, actions });
  try {
    const [records, cred, home, clock, revoked, reachedAt] = await Promise.all([
      store.loadReports(),
      store.get("credential"),
      store.get("home"),
      store.get("clock"),
      store.get("revoked"),
      store.get("reached_at"),
    ]);
    outbox = new Outbox(records || []);
    state.cred = cred || null;
    state.home = home ? { ...home, stale: true } : null;
    state.clock = clock || null;
    state.revoked = revoked || null;
    state.reachedAt = reachedAt || null;
  } catch {
    ui.toast(t("save_failed"), "bad");
  }
  startSender();
  window.addEventListener("hashchange", () => {
    // A link opened in the app's own tab changes only the fragment: no new page, no boot.js.
    if (location.hash.startsWith(ENROL_PREFIX)) {
      const code = location.hash.slice(ENROL_PREFIX.length);
      history.replaceState(null, "", location.pathname + location.search);
      let decoded = "";
      try {
        decoded = decodeURIComponent(code);
      } catch {
        decoded = "";
      }
      enrol(decoded);
      return;
    }
    ui.show(routeOfHash(), view());
  });
  window.addEventListener("online", () => {
    render();
    refreshHome();
    syncClock();
  });
  window.addEventListener("offline", render);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      warmLocation();
      render();
    }
  });
  if (enrolCode !== null) await enrol(enrolCode);
  else ui.show(routeOfHash(), view());
  if (state.revoked) sender.revoke(state.revoked);
  else sender.kick();
  startServiceWorker();
  askPersistence();
  warmLocation();
  if (enrolCode === null) {
    refreshHome();
    syncClock();
  }
  setInterval(syncClock, CLOCK_EVERY_MS);
  setInterval(() => {
    if (document.visibilityState === "visible") refreshHome();
  }, HOME_EVERY_MS);
  setInterval(() => {
    if (ui.route === "status" || ui.route === "kiriman") render(); // "2 minutes ago" moves on
  }, 10000);
  // For the browser tests and bench/lapor.py: what the app holds, read-only.
  window.poskoLapor = {
    version,
    counts: () => outbox.counts(),
    records: () => outbox.list().map((r) => ({ event_id: r.event_id, state: r.state, kind: r.kind, seq: r.seq })),
    sender: () => sender.status(),
    ready: true,
  };
}

start();
