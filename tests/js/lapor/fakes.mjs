// What the phone app's sender is given in the browser, made by hand for Node: a clock whose
// timers run only when a test advances it, sockets a test opens, feeds and closes as the
// server would, and a fetch whose answers the test gives.

import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const APP = path.join(REPO, "dashboard/lapor/js");

/** Time that moves only when told to; timers fire in order as it passes them. */
export function fakeClock(start = 1_700_000_000_000) {
  let t = start;
  let seq = 0;
  let timers = [];
  return {
    now: () => t,
    setTimeout(fn, ms) {
      seq += 1;
      timers.push({ id: seq, at: t + ms, fn });
      return seq;
    },
    clearTimeout(id) {
      timers = timers.filter((x) => x.id !== id);
    },
    advance(ms) {
      const end = t + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at || a.id - b.id);
        const due = timers[0];
        if (!due || due.at > end) break;
        timers.shift();
        t = due.at;
        due.fn();
      }
      t = end;
    },
    /** Delays of the timers still waiting, from now. */
    pending: () => timers.map((x) => x.at - t).sort((a, b) => a - b),
  };
}

/** Sockets the sender opens; the test plays the server. */
export function fakeSockets() {
  const opened = [];
  return {
    opened,
    open(url, protocols) {
      const sock = {
        url,
        protocols,
        readyState: 0,
        sent: [],
        closedWith: null,
        onopen: null,
        onmessage: null,
        onclose: null,
        onerror: null,
        send(text) {
          if (this.readyState !== 1) throw new Error("socket not open");
          this.sent.push(JSON.parse(text));
        },
        close(code, reason) {
          if (this.readyState === 3) return;
          this.readyState = 3;
          this.closedWith = { code, reason };
        },
      };
      opened.push(sock);
      return sock;
    },
    get last() {
      return opened[opened.length - 1];
    },
    /** The handshake succeeds. */
    accept(sock) {
      sock.readyState = 1;
      sock.onopen && sock.onopen({});
    },
    /** The server speaks: each frame as JSON text. */
    receive(sock, ...frames) {
      for (const f of frames) sock.onmessage && sock.onmessage({ data: JSON.stringify(f) });
    },
    /** The connection ends (the server closed it, or it died: 1006). */
    drop(sock, code = 1006, reason = "") {
      sock.readyState = 3;
      sock.onerror && code === 1006 && sock.onerror({});
      sock.onclose && sock.onclose({ code, reason });
    },
  };
}

/** A fetch whose every call waits for the test's answer. */
export function fakeFetch() {
  const calls = [];
  const fn = (url, init = {}) =>
    new Promise((resolve, reject) => {
      calls.push({
        url,
        init,
        body: typeof init.body === "string" ? JSON.parse(init.body) : init.body,
        answer: (status, body) => resolve(response(status, body)),
        fail: () => reject(new TypeError("Failed to fetch")),
      });
    });
  fn.calls = calls;
  Object.defineProperty(fn, "last", { get: () => calls[calls.length - 1] });
  return fn;
}

export function response(status, body) {
  return {
    status,
    ok: status >= 200 && status < 300,
    json: async () => {
      if (body === undefined) throw new SyntaxError("no body");
      return body;
    },
  };
}

/** Let every pending promise callback run. */
export async function settle() {
  for (let i = 0; i < 10; i += 1) await new Promise((r) => setImmediate(r));
}

/** The acks the server gives a frame: one per event, in order. */
export function acksOf(events, result = "stored") {
  return events.map((e) => ({ type: "ack", event_id: e.event_id, result, error: null, flags: [] }));
}
