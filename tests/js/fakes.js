// What the live client's modules are given in the browser, made by hand for Node: a clock with
// timers that run only when a test advances it, sockets a test opens, feeds and closes, reads
// a test answers, and the frames recorded from a real server (tests/js/record_frames.py).
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const ASSETS = path.resolve(__dirname, "../../dashboard/assets/live");
const FIXTURES = path.join(__dirname, "fixtures");

/** A module of the live client, as Node's require() loads it. */
function live(name) {
  return require(path.join(ASSETS, name + ".js"));
}

/** A fresh copy of a recorded fixture (tests change what they are given). */
function fixture(name) {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, name + ".json"), "utf8"));
}

/** Time that moves only when told to; timers fire in order as it passes them. */
function fakeClock(start = 0) {
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
    random: () => 0, // no jitter: backoffs are exact
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
    pending: () => timers.map((x) => x.at - t),
  };
}

/** A socket factory; each socket is opened, fed and closed by the test, like a server would. */
function fakeSockets() {
  const opened = [];
  return {
    opened,
    open(url) {
      const sock = {
        url,
        readyState: 0,
        closedWith: null,
        onmessage: null,
        onclose: null,
        onerror: null,
        close(code, reason) {
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
    /** The server accepts and speaks: each frame as the text the socket would deliver. */
    receive(sock, ...frames) {
      sock.readyState = 1;
      for (const frame of frames) {
        if (sock.onmessage) sock.onmessage({ data: typeof frame === "string" ? frame : JSON.stringify(frame) });
      }
    },
    /** The server (or the network) closes the socket with `code`. */
    serverClose(sock, code) {
      sock.readyState = 3;
      if (sock.onclose) sock.onclose({ code });
    },
  };
}

/** Reads the test answers one by one: each load() waits until the test resolves or refuses it. */
function fakeReads() {
  const calls = [];
  return {
    calls,
    load(signal) {
      return new Promise((resolve, reject) => {
        calls.push({ signal, resolve, reject });
      });
    },
    get last() {
      return calls[calls.length - 1];
    },
  };
}

/** Let promise callbacks run (a resolved read's then). */
function settle() {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A delta like `base` with another seq (and its TPS states as given). */
function withSeq(base, seq, tps) {
  const d = JSON.parse(JSON.stringify(base));
  d.seq = seq;
  if (tps !== undefined) d.tps = tps;
  return d;
}

module.exports = { live, fixture, fakeClock, fakeSockets, fakeReads, settle, withSeq, ASSETS };
