/*
 * Posko live client · connection: the /ws/live protocol as a small state machine.
 *
 *   connecting ──hello──▶ syncing ──loaded──▶ live
 *        ▲                 ▲   │ reload         │ reload (gap, resync frame, heartbeat ahead,
 *        │ retry           └───┴────────────────┘         hello, buffer overflow)
 *       lost ◀── closed / silent / failed ── (connecting, syncing, live)
 *     denied ◀── refused: close 1008, error frame on "token", 401/403 on a read. No retry:
 *                the credential is gone (revoked, signed out); the screen says so.
 *     replay ◀── replay (from any state but denied): the commander looks at a past moment
 *                (85-replay.js). The socket is closed, so no live delta can touch that picture;
 *                resume ──▶ connecting: a new socket and a fresh snapshot, as after a loss.
 *
 * Order on every (re)connect: subscribe first, buffer deltas, read the snapshot, then apply the
 * buffered deltas with seq > snapshot.seq (the store drops older ones). Deltas apply only when
 * seq is contiguous; a hole reloads the snapshot. Three missed heartbeats (2 s each) = lost.
 *
 * Everything outside is given: the socket factory, the reads, the clock and timers, the store.
 * Node tests (tests/js/connection.test.js) drive it with a fake socket, fake timers and frames
 * recorded from a real server.
 */
(function (root, name, deps, factory) {
  "use strict";
  if (typeof module === "object" && module.exports) {
    module.exports = factory.apply(null, deps.map(function (d) { return require("./" + d + ".js"); }));
    return;
  }
  var ns = root.posko || (root.posko = {});
  ns[name] = factory.apply(null, deps.map(function (d) {
    var dep = ns[d.replace(/^\d+-/, "")];
    if (!dep) throw new Error("posko: " + d + ".js must load before " + name);
    return dep;
  }));
})(typeof self !== "undefined" ? self : this, "connection", [], function () {
  "use strict";

  var LOST_AFTER_MS = 6000; // heartbeats come every 2 s: three missed = not live
  // Capped low: after a server restart every screen must be live again within 5 s, and after a
  // long outage the wait (cap + 30 % jitter) comes before the snapshot's load and render (a
  // 3 s cap left ~1 s for those); a wall's retry every 2 s costs the server nothing.
  var BACKOFF_MS = [300, 1000, 2000];
  var BUFFER_MAX = 5000; // deltas held while a snapshot loads; more means resync
  var READ_TIMEOUT_MS = 15000;
  var POLICY_VIOLATION = 1008; // the server's close code for a refused credential or area

  // Events: hello (first frame of a socket), reload (the picture has a hole: a gap, a resync
  // frame, a heartbeat ahead of us, a buffer overflow, a hello where none was expected; while
  // syncing, a read under way covers it), loaded (snapshot read and the buffer applied),
  // failed (a read failed or timed out), closed, silent (nothing heard for LOST_AFTER_MS),
  // refused (the credential was refused), retry (the backoff ran out).
  // A state's missing event is ignored.
  // replay (a past moment is shown: 85-replay.js) and resume (back to live) are the page's.
  var TRANSITIONS = {
    connecting: { hello: "syncing", reload: "syncing", closed: "lost", silent: "lost", refused: "denied", replay: "replay" },
    syncing: { reload: "syncing", loaded: "live", failed: "lost", closed: "lost", silent: "lost", refused: "denied", replay: "replay" },
    live: { reload: "syncing", closed: "lost", silent: "lost", refused: "denied", replay: "replay" },
    lost: { retry: "connecting", replay: "replay" },
    denied: {},
    replay: { resume: "connecting" },
  };

  /** The state an event leads to from a state (the same state when the event means nothing). */
  function next(state, event) {
    var to = TRANSITIONS[state][event];
    return to === undefined ? state : to;
  }

  /**
   * A connection to the live stream. Options:
   *   url()           where to connect (read at each attempt)
   *   openSocket(url) a WebSocket-like object: readyState, close(code, reason), and the
   *                   onmessage / onclose / onerror handlers this sets
   *   load(signal)    Promise of the reads {snapshot, log, incidents}; a refusal rejects with an
   *                   error whose `status` is 401 or 403 (see readPicture)
   *   store           the picture (30-store.js): setClock, applyDelta, load, seq
   *   clock           {now, setTimeout, clearTimeout, random}
   *   stats           counters shared with the page (frames, bytes, lastBytes, lastDeltaBytes, resyncs)
   *   onChange(state, from)     after every change of state
   *   onLive({reconnected})     on entering live; reconnected: after an earlier live socket
   *   onDelta()                 after a delta applied while live
   */
  function createConnection(o) {
    var clock = o.clock;
    var stats = o.stats || {};
    ["frames", "bytes", "lastBytes", "lastDeltaBytes", "resyncs"].forEach(function (k) {
      stats[k] = stats[k] || 0;
    });
    var state = "connecting";
    var ws = null; // the current socket
    var gen = 0; // which socket (and its reads) is current; older ones are ignored
    var loading = false; // a read of the snapshot is in flight for the current socket
    var buffer = []; // deltas that arrived while not live
    var attempt = 0; // losses since the last time live: picks the backoff
    var everLive = false;
    var ended = null; // why the credential stopped working (set with "refused" on a token)
    var resumed = false; // this socket follows an earlier live one
    var lastFrame = 0; // now() of the last frame of any kind
    var connectAt = 0;
    var started = false;

    function fire(event) {
      var from = state;
      if (TRANSITIONS[from][event] === undefined) return; // means nothing in this state
      var to = next(from, event);
      state = to;
      // Told before the new state's work starts: that work may fire the next event at once.
      if (to !== from && o.onChange) o.onChange(to, from);
      enter(to, event);
    }

    function enter(to, event) {
      if (to === "connecting") open();
      else if (to === "syncing") {
        if (!loading) read(); // a reload asked for while one is under way waits for that one
      } else if (to === "live") {
        attempt = 0;
        everLive = true;
        var info = { reconnected: resumed };
        resumed = false;
        if (o.onLive) o.onLive(info);
      } else if (to === "lost") {
        shut(event);
        retryLater();
      } else if (to === "denied") {
        shut(event);
      } else if (to === "replay") {
        // Nothing live reaches a past picture: no socket, no buffer, no read under way (a
        // pending retry finds nothing to do here). Resuming reconnects and reloads.
        shut(event);
        attempt = 0;
      }
    }

    function open() {
      var id = ++gen;
      loading = false;
      buffer = [];
      resumed = everLive;
      connectAt = clock.now();
      var sock;
      try {
        sock = o.openSocket(o.url());
      } catch {
        ws = null;
        fire("closed");
        return;
      }
      ws = sock;
      sock.onmessage = function (ev) {
        if (id === gen) onFrame(ev.data);
      };
      sock.onclose = function (ev) {
        if (id !== gen) return;
        ws = null;
        fire(ev.code === POLICY_VIOLATION ? "refused" : "closed");
      };
      sock.onerror = function () {
        /* onclose follows and handles it */
      };
    }

    function shut(reason) {
      // Close this socket (if it is still open) and forget it and its reads.
      var sock = ws;
      ws = null;
      gen += 1;
      loading = false;
      buffer = [];
      if (!sock) return;
      sock.onclose = null;
      sock.onmessage = null;
      try {
        sock.close(4000, reason);
      } catch {
        /* already closed */
      }
    }

    function retryLater() {
      var base = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
      attempt += 1;
      clock.setTimeout(function () {
        fire("retry");
      }, base + clock.random() * base * 0.3);
    }

    function onFrame(data) {
      lastFrame = clock.now();
      stats.frames += 1;
      stats.bytes += data.length;
      stats.lastBytes = data.length;
      var msg;
      try {
        msg = JSON.parse(data);
      } catch {
        return;
      }
      if (msg.type === "hello") {
        o.store.setClock(msg.at);
        fire(state === "connecting" ? "hello" : "reload");
      } else if (msg.type === "heartbeat") {
        o.store.setClock(msg.at);
        // The heartbeat carries the channel's last seq: ahead of ours means we missed a delta.
        if (state === "live" && msg.seq > o.store.seq) fire("reload");
      } else if (msg.type === "delta") {
        stats.lastDeltaBytes = data.length;
        if (state !== "live") {
          buffer.push(msg);
          if (buffer.length > BUFFER_MAX) {
            buffer = [];
            fire("reload");
          }
        } else if (!o.store.applyDelta(msg)) {
          fire("reload");
        } else if (o.onDelta) {
          o.onDelta();
        }
      } else if (msg.type === "resync") {
        fire("reload");
      } else if (msg.type === "error") {
        // The server says why before it closes (with 1008): a refused credential ends here,
        // and this browser's access with it (signed out, revoked, expired).
        if (msg.error && msg.error.field === "token") {
          ended = msg.error.reason || "";
          fire("refused");
        }
      }
    }

    function read() {
      loading = true;
      stats.resyncs += 1;
      var id = gen;
      var ctl = new AbortController();
      var timer = clock.setTimeout(function () {
        ctl.abort();
      }, READ_TIMEOUT_MS);
      o.load(ctl.signal).then(
        function (reads) {
          clock.clearTimeout(timer);
          if (id !== gen) return; // an older connection's reload
          loading = false;
          fire(apply(reads));
        },
        function (err) {
          clock.clearTimeout(timer);
          if (id !== gen) return;
          loading = false;
          if (err && err.status === 401) ended = "unauthorized"; // the credential is gone
          fire(err && (err.status === 401 || err.status === 403) ? "refused" : "failed");
        }
      );
    }

    function apply(reads) {
      try {
        o.store.load(reads);
      } catch {
        return "failed";
      }
      // What arrived meanwhile, in order; JavaScript runs nothing else until this returns.
      var buffered = buffer;
      buffer = [];
      for (var i = 0; i < buffered.length; i++) {
        // The stream lost one between subscribe and snapshot: again.
        if (!o.store.applyDelta(buffered[i])) return "reload";
      }
      return "loaded";
    }

    /** Call every second: a socket silent (or hanging) for too long is closed and started over. */
    function watch() {
      if (ws && clock.now() - Math.max(lastFrame, connectAt) > LOST_AFTER_MS) fire("silent");
    }

    /** Whether the picture follows the server now. A resync on a talking socket stays live. */
    function isLive() {
      var current = state === "live" || (state === "syncing" && everLive);
      return !!(ws && ws.readyState === 1 && current && clock.now() - lastFrame <= LOST_AFTER_MS);
    }

    /** What the banner says: "" (nothing), "lost", "denied" or "ended" (access ended). */
    function banner() {
      if (state === "denied") return ended === null ? "denied" : "ended";
      if (state === "lost") return "lost";
      if (state === "replay") return ""; // not a loss: the replay control says where we are
      if (isLive()) return "";
      // Cut off after having been live, after a failed attempt, or never live for too long.
      return everLive || attempt > 0 || clock.now() > LOST_AFTER_MS ? "lost" : "";
    }

    return {
      start: function () {
        if (started) return;
        started = true;
        open();
      },
      watch: watch,
      isLive: isLive,
      /** Show a past moment: close the live socket (ignored when the credential was refused). */
      replay: function () {
        fire("replay");
      },
      /** Back to live from a past moment: reconnect and load a fresh snapshot. */
      resume: function () {
        fire("resume");
      },
      banner: banner,
      get state() {
        return state;
      },
      get everLive() {
        return everLive;
      },
      get lastFrame() {
        return lastFrame;
      },
      /** Why this screen's credential stopped working, or null while it works. */
      get ended() {
        return ended;
      },
    };
  }

  /**
   * The reads of a reload through fetch, with the browser's cookie: snapshot, log and (on the
   * commander's view) the incident list. A refusal rejects with its HTTP status attached.
   */
  function readPicture(fetchFn, urls) {
    return function (signal) {
      var opts = { credentials: "same-origin", cache: "no-store", signal: signal };
      function get(url) {
        return fetchFn(url, opts).then(function (r) {
          if (!r.ok) {
            var err = new Error(url + " " + r.status);
            err.status = r.status;
            throw err;
          }
          return r.json();
        });
      }
      var reads = [get(urls().snapshot), get(urls().log)];
      if (urls().incidents) reads.push(get(urls().incidents));
      return Promise.all(reads).then(function (res) {
        return { snapshot: res[0], log: res[1], incidents: res[2] || null };
      });
    };
  }

  return {
    createConnection: createConnection,
    readPicture: readPicture,
    next: next,
    TRANSITIONS: TRANSITIONS,
    LOST_AFTER_MS: LOST_AFTER_MS,
    BACKOFF_MS: BACKOFF_MS,
    BUFFER_MAX: BUFFER_MAX,
  };
});
