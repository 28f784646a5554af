/*
 * Posko live client · replay: the commander's time control. Pick a moment of the day (or of the
 * exercise), see the picture as it was then, play forward at 1×–600×, and go back to live.
 *
 *   seek(at) ──▶ connection "replay" (socket closed: no live delta touches the past picture)
 *            ──▶ GET /api/v1/replay/snapshot?at=… and /api/v1/replay/log?at=… (the live shapes)
 *            ──▶ store.load, as a resync would: map, counters, log, alerts, incidents redraw.
 *   play(rate): every second the moment moves on rate seconds and is loaded again (one read in
 *               flight at most; it stops at the present).
 *   live():     connection "resume" ──▶ a new socket and a fresh snapshot, as after a loss.
 *
 * Reads, clock and the pieces it drives are given (Node tests: tests/js/replay.test.js).
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
})(typeof self !== "undefined" ? self : this, "replay", [], function () {
  "use strict";

  var RATES = [1, 10, 60, 600]; // how many seconds of the day pass per second of play
  var MIN_RATE = 1;
  var MAX_RATE = 600;
  var STEP_MS = 1000; // a new picture every second of play
  var WIB_MS = 7 * 3600 * 1000;
  var DAY_MS = 24 * 3600 * 1000;

  /** A play speed the control accepts: a number in 1…600 (anything else: 1). */
  function clampRate(rate) {
    var r = Number(rate);
    if (!isFinite(r) || r < MIN_RATE) return MIN_RATE;
    return Math.min(MAX_RATE, Math.round(r));
  }

  /** Midnight WIB (ms since epoch) of the WIB day holding `atMs`. */
  function dayStart(atMs) {
    return Math.floor((atMs + WIB_MS) / DAY_MS) * DAY_MS - WIB_MS;
  }

  /** The moment "HH:MM" or "HH:MM:SS" (WIB) of the day holding `dayMs`; NaN when not a time. */
  function momentOf(dayMs, hhmmss) {
    var m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(String(hhmmss || "").trim());
    if (!m) return NaN;
    var h = Number(m[1]);
    var mi = Number(m[2]);
    var se = Number(m[3] || 0);
    if (h > 23 || mi > 59 || se > 59) return NaN;
    return dayStart(dayMs) + ((h * 60 + mi) * 60 + se) * 1000;
  }

  /** Where play has got to after `elapsedMs` at `rate`, never past `limitMs` (the present). */
  function advance(atMs, rate, elapsedMs, limitMs) {
    var next = atMs + clampRate(rate) * elapsedMs;
    return limitMs !== undefined && next > limitMs ? limitMs : next;
  }

  /** The replay reads for the moment, keeping the screen's own area (cfg.urls' query). */
  function replayUrls(urls, atMs) {
    var q = (urls.snapshot.split("?")[1] || "").split("&").filter(function (p) {
      return /^area=/.test(p);
    });
    q.push("at=" + encodeURIComponent(new Date(atMs).toISOString()));
    var query = "?" + q.join("&");
    return {
      snapshot: "/api/v1/replay/snapshot" + query,
      log: "/api/v1/replay/log" + query,
      // The snapshot carries the incidents open then; these are the resolved ones waiting.
      incidents: "/api/v1/replay/incidents" + query,
    };
  }

  /**
   * The time control's logic. Options:
   *   connection   40-connection's: replay(), resume(), state
   *   store        30-store's: load(reads), setClock(iso), speed, forgetJudged(), serverNow()
   *   load(atMs)   Promise of the reads {snapshot, log, incidents} for a moment
   *   clock        {now, setTimeout, clearTimeout}
   *   onChange()   after the mode, moment, rate or a loaded picture changed (redraw)
   */
  function createReplay(o) {
    var clock = o.clock;
    var at = null; // ms: the moment shown, null when live
    var rate = RATES[0];
    var playing = false;
    var loading = false;
    var wanted = null; // a moment asked for while a read was in flight
    var gen = 0; // reads for an older request (or before going live) are dropped
    var timer = null;
    var lastStep = 0;
    var limit = null; // the present when replay began: play stops there
    var error = null;

    function changed() {
      if (o.onChange) o.onChange();
    }

    function active() {
      return o.connection.state === "replay";
    }

    function seek(atMs) {
      if (!isFinite(atMs)) return false;
      if (!active()) {
        limit = o.store.serverNow();
        o.connection.replay();
        if (!active()) return false; // refused credential: nothing to show
      }
      at = limit !== null && atMs > limit ? limit : atMs;
      fetchAt(at);
      changed();
      return true;
    }

    function fetchAt(atMs) {
      if (loading) {
        wanted = atMs;
        return;
      }
      loading = true;
      var id = ++gen;
      o.load(atMs).then(
        function (reads) {
          if (id !== gen) return;
          loading = false;
          error = null;
          o.store.load(reads, { fresh: true });
          o.store.setClock(reads.snapshot.taken_at);
          holdClock();
          next();
          changed();
        },
        function (err) {
          if (id !== gen) return;
          loading = false;
          error = (err && err.status) || "network";
          next();
          changed();
        }
      );
    }

    function holdClock() {
      // The screen's clock (header, staleness, the barcode's last bin) is the moment shown:
      // still while paused, moving at the play rate while playing, never the present's.
      o.store.speed = playing ? rate : 0;
    }

    function next() {
      if (wanted === null) return;
      var w = wanted;
      wanted = null;
      fetchAt(w);
    }

    function step() {
      timer = null;
      if (!playing || !active()) return;
      var t = clock.now();
      var elapsed = t - lastStep;
      lastStep = t;
      at = advance(at, rate, elapsed, limit === null ? undefined : limit);
      if (!loading) fetchAt(at); // a slow read skips frames rather than queueing them
      if (limit !== null && at >= limit) playing = false;
      else timer = clock.setTimeout(step, STEP_MS);
      changed();
    }

    function play(r) {
      if (r !== undefined) rate = clampRate(r);
      if (!active() && !seek(o.store.serverNow() - 3600 * 1000)) return;
      playing = true;
      holdClock();
      lastStep = clock.now();
      if (timer === null) timer = clock.setTimeout(step, STEP_MS);
      changed();
    }

    function pause() {
      playing = false;
      if (active()) {
        if (at !== null) o.store.setClock(new Date(at).toISOString());
        holdClock();
      }
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
      changed();
    }

    function live() {
      pause();
      gen += 1; // a read still on its way belongs to the past
      loading = false;
      wanted = null;
      at = null;
      limit = null;
      error = null;
      // Silences judged in the past are not the present's: the fresh snapshot judges again.
      o.store.forgetJudged();
      o.connection.resume();
      changed();
    }

    return {
      seek: seek,
      play: play,
      pause: pause,
      live: live,
      setRate: function (r) {
        rate = clampRate(r);
        if (active()) holdClock();
        changed();
      },
      get active() {
        return active();
      },
      get at() {
        return at;
      },
      get rate() {
        return rate;
      },
      get playing() {
        return playing;
      },
      get loading() {
        return loading;
      },
      get error() {
        return error;
      },
    };
  }

  return {
    createReplay: createReplay,
    clampRate: clampRate,
    dayStart: dayStart,
    momentOf: momentOf,
    advance: advance,
    replayUrls: replayUrls,
    RATES: RATES,
    STEP_MS: STEP_MS,
  };
});
