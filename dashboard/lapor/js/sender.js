// The transport: takes the outbox's queued reports to the server and brings the acks back.
//
// One /ws/field socket, authenticated by its subprotocol (a browser cannot set headers on a
// websocket, and a token in a URL ends up in logs); one frame in flight at a time, a JSON
// array of up to 50 events in creation order, so the server stores them in the order they were
// made. The server answers an array frame with an array of acks, each naming its event_id; a
// storage error frame names the event ids to send again. When the socket cannot open (a carrier
// proxy, a captive portal), the batch goes to the webhook POST /api/v1/events with the same
// bearer credential. Photos go after their report's ack (an incident's, a segel's), one PUT each.
//
// Retries: on `online`, on focus / the page becoming visible, and on a timer with exponential
// backoff and full jitter (capped at a minute) — never on Background Sync alone (Safari and
// WebViews lack it, and a queue replayed only at service-worker start stalls).
// A refused credential (error frame on "token" then close 1008, or HTTP 401) stops everything.
//
// The socket, fetch, clock and randomness are given, so Node tests drive it without a browser.

import { DITERIMA, DITOLAK } from "./outbox.js";

export const BATCH_MAX = 50;
export const FRAME_BYTES_MAX = 192 * 1024; // under the server's 256 KiB frame limit
export const BACKOFF_BASE_MS = 1000;
export const BACKOFF_CAP_MS = 60000;
export const BACKOFF_MIN_MS = 250; // full jitter may draw ~0: never spin
export const OPEN_TIMEOUT_MS = 10000;
export const ACK_TIMEOUT_MS = 30000;
export const IDLE_CLOSE_MS = 30000; // nothing to send: let the radio sleep
export const SOCKET_SKIP_MS = 5 * 60000; // socket failed but the webhook worked: use it a while
export const SUBPROTOCOL = "posko.v1";
export const BEARER_PREFIX = "posko.bearer.";

/** Full-jitter exponential backoff: a delay in [BACKOFF_MIN_MS, min(cap, base·2^attempt)]. */
export function backoffDelay(attempt, random) {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 30));
  return Math.max(BACKOFF_MIN_MS, Math.floor(random() * ceiling));
}

function utf8Length(value) {
  const text = JSON.stringify(value);
  let n = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00) {
      n += 4; // a surrogate pair is one 4-byte character
      i += 1;
    } else n += 3;
  }
  return n;
}

/** Where a report's photo goes: a custody step's (the seals of a segel) or an incident's. */
export function photoUrl(base, record, index) {
  const owner = record.kind === "custody" ? "custody" : "incident-reports";
  return `${base}/api/v1/${owner}/${record.event_id}/photos/${index}`;
}

/**
 * The sender. deps: outbox, token() and nrp() (the current enrolment), urls {ws, http},
 * openSocket(url, protocols), fetch, clock {now, setTimeout, clearTimeout}, random(),
 * save(records), forget(records), loadPhoto(id, index) → Blob|null, dropPhoto(id, index),
 * onChange(status), onRevoked(reason).
 */
export function createSender(deps) {
  const { outbox, clock, urls } = deps;
  const random = deps.random || Math.random;
  const save = deps.save || (() => Promise.resolve());
  const forget = deps.forget || (() => Promise.resolve());
  const onChange = deps.onChange || (() => {});
  const onRevoked = deps.onRevoked || (() => {});

  let state = "idle"; // idle | connecting | sending | waiting | revoked | stopped
  let sock = null; // the current socket, open or opening
  let sockOpen = false;
  let tokenRefused = null; // the reason of an error frame on "token"
  let socketFailedAt = null; // the last time a socket could not open
  let socketSkipUntil = 0;
  let inflight = null; // {ids, via, timer}
  let photoBusy = false;
  let attempt = 0;
  let retryTimer = null;
  let idleTimer = null;
  let openTimer = null;
  let batchMax = BATCH_MAX;
  let lastReachedAt = null;
  let lastError = null;
  let via = null; // "ws" | "http": how the last batch went
  let generation = 0; // bumped when sending stops: answers to requests of before are ignored

  function status() {
    return {
      state,
      via,
      lastReachedAt,
      lastError,
      socketOpen: sockOpen,
      attempt,
      unsent: outbox.unsent(),
    };
  }

  function setState(s) {
    state = s;
    onChange(status());
  }

  function reached() {
    lastReachedAt = clock.now();
  }

  function persist(records) {
    if (records && records.length) {
      Promise.resolve(save(records)).catch(() => {}); // a failed write is resent and deduplicated
    }
  }

  function clearTimer(t) {
    if (t !== null) clock.clearTimeout(t);
    return null;
  }

  // ---- the loop -------------------------------------------------------------------------------

  function pump() {
    if (state === "revoked" || state === "stopped") return;
    if (inflight) return; // one frame at a time: the server stores them in the order sent
    const batch = nextBatch();
    if (batch.length) {
      // Reports do not wait for a photo on its way (300 KB on 2G takes a while; an SOS must not).
      idleTimer = clearTimer(idleTimer);
      if (!deps.token()) return setState("idle");
      if (sockOpen) return sendWs(batch);
      if (clock.now() < socketSkipUntil) return sendHttp(batch);
      return connect();
    }
    if (photoBusy) return;
    const next = outbox.nextPhoto({ nrp: deps.nrp() });
    if (next && deps.token()) return sendPhoto(next);
    if (retryTimer === null) setState("idle");
    if (sock && idleTimer === null) {
      idleTimer = clock.setTimeout(() => {
        idleTimer = null;
        if (!sock || inflight) return;
        // Detached first: a report made while it closes must not go into a closing socket.
        const s = sock;
        sock = null;
        sockOpen = false;
        s.close(1000, "idle");
        onChange(status());
      }, IDLE_CLOSE_MS);
    }
  }

  function retryLater(error) {
    if (error) lastError = error;
    if (state === "revoked" || state === "stopped") return;
    retryTimer = clearTimer(retryTimer);
    const delay = backoffDelay(attempt, random);
    attempt += 1;
    retryTimer = clock.setTimeout(() => {
      retryTimer = null;
      pump();
    }, delay);
    setState("waiting");
  }

  function succeeded() {
    attempt = 0;
    lastError = null;
    batchMax = Math.min(BATCH_MAX, batchMax * 2);
  }

  // ---- the socket ---------------------------------------------------------------------------

  function connect() {
    if (sock) return; // already opening
    openSocket();
  }

  // The credential goes only as a subprotocol, never in the URL (URLs end up in logs and
  // proxies): a socket that cannot open this way gives way to the webhook and its header.
  function openSocket() {
    const token = deps.token();
    let s;
    tokenRefused = null;
    setState("connecting");
    try {
      s = deps.openSocket(urls.ws, [SUBPROTOCOL, BEARER_PREFIX + token]);
    } catch {
      return socketGone(null);
    }
    sock = s;
    sockOpen = false;
    openTimer = clock.setTimeout(() => {
      openTimer = null;
      if (sock === s && !sockOpen) {
        s.close();
        socketGone(s);
      }
    }, OPEN_TIMEOUT_MS);
    s.onopen = () => {
      if (sock !== s) return;
      openTimer = clearTimer(openTimer);
      sockOpen = true;
      socketFailedAt = null;
      reached();
      pump();
    };
    s.onmessage = (e) => {
      if (sock === s) onFrame(e.data);
    };
    s.onclose = () => socketGone(s);
    s.onerror = () => {}; // a close always follows
  }

  function socketGone(s) {
    if (s !== null && s !== sock) return; // an old socket's late event
    const wasOpen = sockOpen;
    openTimer = clearTimer(openTimer);
    idleTimer = clearTimer(idleTimer);
    sock = null;
    sockOpen = false;
    if (s && s.readyState !== 3 && typeof s.close === "function") {
      try {
        s.close();
      } catch {
        /* already closing */
      }
    }
    if (inflight && inflight.via === "ws") {
      inflight.timer = clearTimer(inflight.timer);
      persist(outbox.requeue(inflight.ids)); // no ack: the same ids go again
      inflight = null;
    }
    if (tokenRefused !== null) return revoke(tokenRefused);
    if (!wasOpen) {
      socketFailedAt = clock.now();
      const batch = nextBatch();
      if (batch.length) return sendHttp(batch);
      return pump();
    }
    if (outbox.unsent() > 0) return retryLater("socket closed");
    return pump();
  }

  function nextBatch() {
    return outbox.nextBatch({
      max: batchMax,
      maxBytes: FRAME_BYTES_MAX,
      nrp: deps.nrp(),
      size: utf8Length,
    });
  }

  function sendWs(batch) {
    const ids = batch.map((r) => r.event_id);
    persist(outbox.markSent(ids, clock.now()));
    const frame = JSON.stringify(batch.map((r) => r.event));
    const s = sock;
    inflight = {
      ids,
      via: "ws",
      timer: clock.setTimeout(() => {
        // No answer in time: give up on this socket; the same ids go again on a new one.
        if (inflight && inflight.ids === ids && sock === s) {
          lastError = "no answer";
          s.close(4000, "ack timeout");
          socketGone(s);
        }
      }, ACK_TIMEOUT_MS),
    };
    via = "ws";
    setState("sending");
    try {
      s.send(frame);
    } catch {
      socketGone(s);
    }
  }

  function onFrame(data) {
    reached();
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (Array.isArray(msg)) return acks(msg);
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "ack") return acks([msg]);
    if (msg.type === "error" && msg.error) {
      const field = msg.error.field;
      if (field === "token") {
        tokenRefused = String(msg.error.reason || "refused");
      } else if (field === "storage" && inflight) {
        // Nothing of that frame was stored: the same events go again after a pause.
        const named = new Set(Array.isArray(msg.event_ids) ? msg.event_ids : inflight.ids);
        const again = inflight.ids.filter((id) => named.has(id));
        persist(outbox.requeue(again.length ? again : inflight.ids));
        endFrame();
        retryLater("storage");
      }
    }
  }

  function endFrame() {
    if (inflight) {
      inflight.timer = clearTimer(inflight.timer);
      // Anything the answer did not settle goes again (the server answers every event).
      persist(outbox.requeue(inflight.ids));
      inflight = null;
    }
  }

  /** Apply acks; a frame is done when every one of its events is settled. */
  function acks(list) {
    const now = clock.now();
    const changed = [];
    let frameError = null;
    for (const a of list) {
      if (!a || typeof a !== "object") continue;
      if (!a.event_id && a.result === "rejected") frameError = a.error || { field: "frame" };
      const r = outbox.ack(a, now);
      if (r) changed.push(r);
    }
    persist(changed);
    if (!inflight) return pump();
    if (frameError && changed.length === 0) return frameRefused(frameError);
    const open = inflight.ids.filter((id) => {
      const r = outbox.get(id);
      return r && r.state !== DITERIMA && r.state !== DITOLAK;
    });
    if (open.length && inflight.via === "ws") return; // the rest of this frame's acks follow
    endFrame();
    succeeded();
    afterAcks();
    pump();
  }

  /** The server refused a frame as a whole (too large, not readable): split it, or reject one. */
  function frameRefused(error) {
    const ids = inflight.ids;
    if (ids.length > 1) {
      batchMax = Math.max(1, Math.floor(ids.length / 2));
      endFrame();
      return pump();
    }
    inflight.timer = clearTimer(inflight.timer);
    inflight = null;
    persist(outbox.reject(ids, error, clock.now()));
    pump();
  }

  function afterAcks() {
    const gone = outbox.prune();
    if (gone.length) Promise.resolve(forget(gone)).catch(() => {});
    onChange(status());
  }

  // ---- the webhook --------------------------------------------------------------------------

  async function sendHttp(batch) {
    const ids = batch.map((r) => r.event_id);
    persist(outbox.markSent(ids, clock.now()));
    const mine = { ids, via: "http", timer: null };
    inflight = mine;
    via = "http";
    setState("sending");
    let res;
    try {
      res = await deps.fetch(urls.http + "/api/v1/events", {
        method: "POST",
        headers: {
          Authorization: "Bearer " + deps.token(),
          "Content-Type": "application/json",
        },
        body: JSON.stringify(batch.map((r) => r.event)),
        cache: "no-store",
      });
    } catch {
      if (inflight !== mine) return; // stopped meanwhile: halt() put the frame back
      endFrame();
      return retryLater("offline");
    }
    if (inflight !== mine) return;
    reached();
    if (res.status === 401) {
      endFrame();
      return revoke(await reasonOf(res));
    }
    if ([200, 207, 422, 400, 413].includes(res.status)) {
      let body = null;
      try {
        body = await res.json();
      } catch {
        body = null;
      }
      if (inflight !== mine) return;
      if (res.status === 400 || res.status === 413 || !body) {
        const err = (body && (body.error || (body.detail && body.detail))) || { field: "frame" };
        return frameRefused({ field: err.field || "frame", reason: err.reason || "" });
      }
      if (socketFailedAt !== null) socketSkipUntil = clock.now() + SOCKET_SKIP_MS;
      return acks(Array.isArray(body) ? body : [body]);
    }
    endFrame();
    retryLater(res.status === 503 ? "storage" : "http " + res.status);
  }

  async function reasonOf(res) {
    try {
      const body = await res.json();
      return (body && body.detail && body.detail.reason) || "unauthorized";
    } catch {
      return "unauthorized";
    }
  }

  // ---- photos ------------------------------------------------------------------------------

  async function sendPhoto({ record, photo }) {
    const mine = generation;
    photoBusy = true;
    setState("sending");
    const id = record.event_id;
    const index = photo.index;
    const done = (stateName, error) => {
      const r = outbox.photoDone(id, index, stateName, error);
      if (r) persist([r]);
      photoBusy = false;
    };
    let blob = null;
    try {
      blob = await deps.loadPhoto(id, index);
    } catch {
      blob = null;
    }
    if (mine !== generation) return;
    if (!blob) {
      done(DITOLAK, { field: "photo", reason: "missing on the phone" });
      return pump();
    }
    let res;
    try {
      res = await deps.fetch(photoUrl(urls.http, record, index), {
        method: "PUT",
        headers: {
          Authorization: "Bearer " + deps.token(),
          "Content-Type": blob.type || "image/jpeg",
        },
        body: blob,
        cache: "no-store",
      });
    } catch {
      if (mine !== generation) return;
      photoBusy = false;
      return retryLater("offline");
    }
    if (mine !== generation) return;
    reached();
    if (res.status === 200 || res.status === 201) {
      done(DITERIMA, null);
      Promise.resolve(deps.dropPhoto && deps.dropPhoto(id, index)).catch(() => {});
      succeeded();
      afterAcks();
      return pump();
    }
    if (res.status === 401) {
      photoBusy = false;
      return revoke(await reasonOf(res));
    }
    if ([409, 413, 415, 422].includes(res.status)) {
      let detail = {};
      try {
        const body = await res.json();
        detail = (body && body.detail) || {};
      } catch {
        detail = {};
      }
      if (mine !== generation) return;
      done(DITOLAK, {
        field: detail.field || "photo",
        reason: detail.reason || "http " + res.status,
        status: res.status,
      });
      afterAcks();
      return pump();
    }
    // 404: the incident is not stored yet (or on a node that has not seen it): later.
    photoBusy = false;
    retryLater(res.status === 404 ? "photo waits for its report" : "http " + res.status);
  }

  // ---- control -----------------------------------------------------------------------------

  function halt() {
    generation += 1;
    retryTimer = clearTimer(retryTimer);
    idleTimer = clearTimer(idleTimer);
    openTimer = clearTimer(openTimer);
    if (inflight) endFrame();
    photoBusy = false;
    const s = sock;
    sock = null;
    sockOpen = false;
    if (s) {
      try {
        s.close(1000, "revoked");
      } catch {
        /* closing already */
      }
    }
  }

  function revoke(reason) {
    halt();
    lastError = reason;
    setState("revoked");
    onRevoked(reason);
  }

  /** Try now: a new report, the network back, the app in front again. */
  function kick() {
    if (state === "revoked" || state === "stopped") return;
    retryTimer = clearTimer(retryTimer);
    pump();
  }

  /** The network is back: the failures counted without it say nothing about the server now. */
  function online() {
    // Else a crash soon after the signal returns would be retried only after the backoff built
    // up offline (up to a minute) instead of from the bottom.
    if (state !== "revoked" && state !== "stopped") attempt = 0;
    kick();
  }

  /** Retry on `online`, on focus and when the page becomes visible. */
  function listen(win, doc) {
    win.addEventListener("online", online);
    win.addEventListener("focus", kick);
    win.addEventListener("offline", () => onChange(status()));
    doc.addEventListener("visibilitychange", () => {
      if (doc.visibilityState === "visible") kick();
    });
  }

  /** After a new enrolment: forget the refusal and send what waits. */
  function resume() {
    if (state === "stopped") return;
    state = "idle";
    attempt = 0;
    lastError = null;
    tokenRefused = null;
    kick();
  }

  /** Stop for good (the officer signs this phone out). */
  function stop() {
    halt();
    state = "stopped";
    onChange(status());
  }

  return {
    kick,
    listen,
    resume,
    stop,
    /** A read told us the credential is refused: stop sending too. */
    revoke(reason) {
      if (state !== "revoked" && state !== "stopped") revoke(reason);
    },
    status,
    get state() {
      return state;
    },
    // For tests and the status screen: what is on its way.
    get inflight() {
      return inflight ? { ids: inflight.ids.slice(), via: inflight.via } : null;
    },
  };
}
