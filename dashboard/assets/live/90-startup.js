/*
 * Posko live client · startup: puts the modules together on a page, runs the clock, and hands
 * the page's config to them.
 *
 *   /ws/live ─▶ connection (40) ─▶ store (30) ─▶ every tick, per changed component, ONE
 *   dash_clientside.set_props: figures (60, a Patch), panels (70), operations (80);
 *   and at the next animation frame a changed marker on the map's overlay (62).
 *
 * The server's callbacks give the config (callbacks.browser_config) through the clientside
 * functions registered here (dash_clientside.posko.*); the first config starts the connection
 * and two timers (a 150 ms tick that draws, a 1 s one for what time changes). Runs for days:
 * one socket, bounded maps and arrays, nothing that grows with time. window.poskoLive is what
 * the browser tests and bench/pixel.py read.
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
})(
  typeof self !== "undefined" ? self : this,
  "startup",
  ["30-store", "40-connection", "50-dash", "60-figures", "62-overlay", "65-maprepair", "70-panels", "75-sos", "80-operations", "85-replay", "10-text"],
  function (storeModule, connection, dash, figuresModule, overlayModule, maprepair, panelsModule, sosModule, operations, replayModule, text) {
    "use strict";

    var TICK_MS = 150;
    var TEXT_EVERY_MS = 500; // counters and the log: each change is a Dash render pass
    var SECOND_MS = 1000;
    var PANELS_EVERY_MS = 60000; // commander: re-read incidents and silent officers
    var PANELS_MIN_MS = 2000;
    var OFFICERS_EVERY_MS = 300000; // officers' last report, re-read from /api/v1/officers
    var ENDED_MS = 4000; // "access ended" stays this long on screen before the sign-in page

    function now() {
      return performance.now();
    }

    var stats = {
      frames: 0,
      deltas: 0,
      bytes: 0,
      lastBytes: 0,
      lastDeltaBytes: 0,
      patches: 0,
      lastPatchBytes: 0,
      resyncs: 0,
      mapDraws: 0, // draws of the map and the ms they took (pending class on → off)
      mapDrawMs: 0,
      chartDraws: 0, // rounds of timeline/progress draws and the ms they held the thread
      chartDrawMs: 0,
      wholeMapPatches: 0, // map patches of three whole arrays (a refit, the labels' refresh)
      overlayPaints: 0, // paints of the map's overlay and the ms they took
      overlayMs: 0,
    };
    var cfg = null;
    var store = storeModule.createStore({ now: now, stats: stats });
    var bridge = dash.createBridge(stats);
    var getCfg = function () {
      return cfg;
    };
    var conn = connection.createConnection({
      url: function () {
        var proto = location.protocol === "https:" ? "wss:" : "ws:";
        return proto + "//" + location.host + cfg.urls.live;
      },
      openSocket: function (url) {
        return new WebSocket(url);
      },
      load: connection.readPicture(
        function (url, opts) {
          return fetch(url, opts);
        },
        function () {
          return cfg.urls;
        }
      ),
      store: store,
      clock: {
        now: now,
        setTimeout: function (fn, ms) {
          return setTimeout(fn, ms);
        },
        clearTimeout: function (id) {
          clearTimeout(id);
        },
        random: Math.random,
      },
      stats: stats,
      onChange: function (to) {
        if (cfg) panels.renderBanner();
        // A credential that ended means this browser is signed out: say so for a few seconds,
        // then show the sign-in page, which comes back here afterwards.
        if (to === "denied" && conn.ended !== null) {
          setTimeout(function () {
            var here = location.pathname + location.search;
            location.replace(cfg.urls.login + "&next=" + encodeURIComponent(here));
          }, ENDED_MS);
        }
      },
      onLive: function (info) {
        // Back after a loss: the server re-draws what it draws (timeline, progress, officers).
        if (info.reconnected) refresh();
        store.evaluateStale();
        flush();
      },
      onDelta: function () {
        if (!store.changed.codes.size) return;
        if (cfg && overlayOn) overlay.mark(store.changed.codes);
        soon();
      },
    });
    var figureOpts = {
      store: store,
      bridge: bridge,
      cfg: getCfg,
      now: now,
      onNewDay: refresh,
      onIdle: soon,
      stats: stats,
      overlay: null,
    };
    var figures = figuresModule.createFigures(figureOpts);
    var overlay = overlayModule.createOverlay({
      store: store,
      bridge: bridge,
      cfg: getCfg,
      now: now,
      view: figures.mapView,
      stats: stats,
    });
    // bench/pixel.py --no-overlay sets this before any script runs: the map takes every change
    // itself, as before the overlay (its A/B comparison on one machine state).
    var overlayOn = window.poskoOverlay !== false;
    if (overlayOn) figureOpts.overlay = overlay;
    var repair = maprepair.createMapRepair({ cfg: getCfg, bridge: bridge, now: now, isLive: conn.isLive });
    var panels = panelsModule.createPanels({
      store: store,
      bridge: bridge,
      cfg: getCfg,
      now: now,
      connection: function () {
        return conn;
      },
    });
    var ops = operations.createOperations({ store: store, bridge: bridge, cfg: getCfg, now: now });
    var alarm = sosModule.createAlarm({
      makeContext: function () {
        var Context = window.AudioContext || window.webkitAudioContext;
        return Context ? new Context() : null;
      },
      setInterval: function (fn, ms) {
        return setInterval(fn, ms);
      },
      clearInterval: function (id) {
        clearInterval(id);
      },
    });
    var sos = sosModule.createBand({
      store: store,
      cfg: getCfg,
      alarm: alarm,
      document: function () {
        return document;
      },
      canAck: function () {
        return ops.can("operator");
      },
    });

    // The commander's time control (85-replay.js): a past moment through the same store and
    // drawing; the connection's `replay` state keeps live deltas away from it.
    var replay = replayModule.createReplay({
      connection: conn,
      store: store,
      load: function (atMs) {
        var read = connection.readPicture(
          function (url, opts) {
            return fetch(url, opts);
          },
          function () {
            return replayModule.replayUrls(cfg.urls, atMs);
          }
        );
        return read(new AbortController().signal);
      },
      clock: {
        now: now,
        setTimeout: function (fn, ms) {
          return setTimeout(fn, ms);
        },
        clearTimeout: function (id) {
          clearTimeout(id);
        },
      },
      onChange: function () {
        renderReplay();
        if (cfg) panels.renderHeader();
        if (replay.active) flush();
        handMoment(!replay.playing);
      },
    });

    var refreshes = 0;
    var textAt = 0;
    var panelsAt = 0;
    var minuteAt = now();
    var officersAt = now();
    var soonTimer = null;
    var started = false;

    function synced() {
      // A replayed moment is drawn like the live picture (nothing live reaches it meanwhile).
      return conn.state === "live" || conn.state === "replay";
    }

    // ---- the time control (the commander's view only) -----------------------------------------

    var REPLAY_IDS = {
      root: "cmd-replay",
      slider: "cmd-replay-slider",
      time: "cmd-replay-time",
      seek: "cmd-replay-seek",
      play: "cmd-replay-play",
      pause: "cmd-replay-pause",
      rate: "cmd-replay-rate",
      live: "cmd-replay-live",
      at: "cmd-replay-at",
      moment: "cmd-replay-moment",
    };

    function el(key) {
      return document.getElementById(REPLAY_IDS[key]);
    }

    function replayDay() {
      // The day shown: the replayed one, else the server's (an exercise's day included).
      return replayModule.dayStart(replay.at !== null ? replay.at : store.serverNow());
    }

    function onReplayInput(ev) {
      var id = ev.target && ev.target.id;
      if (id === REPLAY_IDS.slider) {
        replay.seek(replayDay() + Number(ev.target.value) * 60000);
      } else if (id === REPLAY_IDS.rate) {
        replay.setRate(ev.target.value);
      } else if (id === REPLAY_IDS.time && ev.type === "change") {
        replay.seek(replayModule.momentOf(replayDay(), ev.target.value));
      }
    }

    function onReplayClick(ev) {
      var target = ev.target && ev.target.closest ? ev.target.closest("button") : null;
      var id = target && target.id;
      if (id === REPLAY_IDS.seek) {
        var time = el("time");
        replay.seek(replayModule.momentOf(replayDay(), time ? time.value : ""));
      } else if (id === REPLAY_IDS.play) {
        var rate = el("rate");
        replay.play(rate ? rate.value : undefined);
      } else if (id === REPLAY_IDS.pause) {
        replay.pause();
      } else if (id === REPLAY_IDS.live) {
        replay.live();
      }
    }

    var MOMENT_EVERY_MS = 2000; // the server-drawn charts of a moment: at most this often in play
    var momentSent = null;
    var momentAt = 0;

    function handMoment(force) {
      // The timeline and day charts are drawn by the server (dashboard/replay.py): tell it the
      // moment shown, or null back in live (the reconnect's refresh redraws the present).
      if (!cfg || !cfg.panels_tick) return; // the commander's view only
      var iso = replay.active && replay.at !== null && !replay.loading ? new Date(replay.at).toISOString() : null;
      if (replay.active && iso === null) return; // wait for the picture
      if (iso === momentSent) return;
      if (!force && iso !== null && now() - momentAt < MOMENT_EVERY_MS) return;
      momentSent = iso;
      momentAt = now();
      bridge.setProps(REPLAY_IDS.moment, { data: iso });
    }

    function renderReplay() {
      var root = el("root");
      document.body.classList.toggle("posko-replay", replay.active);
      if (!root || !cfg) return;
      root.classList.toggle("on", replay.active);
      root.classList.toggle("playing", replay.playing);
      var words = cfg.i18n.words;
      var line = words.live;
      if (replay.active && replay.at !== null) {
        line = words.replay_mode.replace("{at}", text.hhmmss(replay.at));
        if (replay.error) line += " · " + words.replay_error;
        var slider = el("slider");
        // Follow play; not while the commander drags it or types.
        if (slider && document.activeElement !== slider) {
          slider.value = String(Math.floor((replay.at - replayDay()) / 60000));
        }
        var time = el("time");
        if (time && document.activeElement !== time) time.value = text.hhmmss(replay.at);
      }
      bridge.setText(REPLAY_IDS.at, "replay-at", line);
    }

    function refresh() {
      refreshes += 1;
      bridge.setProps(cfg.ids.refresh, { data: refreshes });
    }

    function flush() {
      if (!cfg || !store.tps.size) return;
      // Everything changed (a snapshot, a resize): the map redraws at once, the overlay steps aside.
      if (store.changed.all) overlay.clear();
      else if (overlayOn) overlay.mark(store.changed.codes);
      figures.take(store.changed);
      var mapSent = figures.drawMap();
      figures.drawCharts();
      // Every changed counter or log is a render pass of the whole Dash tree on this thread:
      // they change with the map's markers, or on their own at most every TEXT_EVERY_MS.
      if (mapSent || now() - textAt >= TEXT_EVERY_MS) {
        textAt = now();
        panels.renderCounters();
        if (store.changed.log) {
          panels.renderLog();
          store.changed.log = false;
        }
      }
      ops.draw();
      sos.draw();
      wantPanels();
    }

    function soon() {
      // A change for an idle map goes out now rather than at the next tick (up to TICK_MS
      // sooner on screen); while the map draws, changes wait and go out together when it is done.
      if (soonTimer !== null || !cfg || !synced() || bridge.busy(cfg.ids.map)) return;
      soonTimer = setTimeout(function () {
        soonTimer = null;
        if (synced()) flush();
      }, 0);
    }

    function wantPanels() {
      // The commander's server-drawn panels: at once (at most every 2 s) when an incident or the
      // open TPS changed, and once a minute for what only time changes (ages, silences, the day).
      if (!cfg.panels_tick) return;
      // A replayed moment's charts are the replay's (dashboard/replay.py): no live redraw over them.
      if (conn.state === "replay") return;
      var t = now();
      if (store.changed.panels && t - panelsAt > PANELS_MIN_MS) {
        panelsAt = t;
        store.changed.panels = false;
        bridge.setProps(cfg.panels_tick, { data: Math.round(t) });
      }
      if (t - minuteAt > PANELS_EVERY_MS) {
        minuteAt = t;
        bridge.setProps(cfg.minute_tick, { data: Math.round(t) });
      }
    }

    function tick() {
      if (!cfg) return;
      figures.watchGraphs();
      repair.tend();
      if (synced()) flush();
    }

    function everySecond() {
      if (!cfg) return;
      if (conn.state === "live" && now() - officersAt > OFFICERS_EVERY_MS) refreshOfficers();
      ops.everySecond();
      sos.draw(); // also when not live: an SOS already shown stays until acknowledged
      panels.pollPlatform();
      repair.tend();
      repair.checkWedged();
      conn.watch(); // silence on an open (or hanging) socket: close it and start over
      handMoment(false); // a moment held back while playing
      if (synced()) store.evaluateStale();
      panels.renderBanner(); // also the banner's "last data" age
      panels.renderHeader();
    }

    function refreshOfficers() {
      // The stream carries TPS states, not officers: every few minutes, re-read who reported when
      // (a ping about a TPS that already had newer news still counts as the officer's report).
      officersAt = now();
      fetch(cfg.urls.officers, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) {
          return r.ok ? r.json() : null;
        })
        .then(function (body) {
          if (!body) return;
          store.setOfficers(
            body.data.map(function (o) {
              return [o.nrp, o.last_seen_at, o.rank + " " + o.name];
            })
          );
        })
        .catch(function () {
          /* the next round, or the next resync, tries again */
        });
    }

    function start() {
      if (started) return;
      started = true;
      conn.start();
      setInterval(tick, TICK_MS);
      setInterval(everySecond, SECOND_MS);
      document.addEventListener("click", ops.onClick);
      document.addEventListener("click", onReplayClick);
      document.addEventListener("change", onReplayInput);
      // A click on the page is what lets the browser play the alarm (autoplay policy).
      document.addEventListener("click", alarm.resume);
      document.addEventListener("keydown", alarm.resume);
      window.addEventListener("resize", function () {
        figures.refit(); // refit the map and rescale markers to the new size
        store.changed.all = true;
      });
    }

    // ---- the page hands over ------------------------------------------------------------------

    function configure(next) {
      var first = !cfg;
      cfg = next;
      store.configure(cfg);
      figures.reset();
      bridge.shown.clear();
      if (first) {
        start();
        ops.loadMe();
      } else if (synced()) flush();
      panels.renderBanner();
    }

    window.poskoLive = {
      configure: configure,
      setOfficers: store.setOfficers,
      select: function (code) {
        store.selected = code;
      },
      get lastDeltaAt() {
        return store.lastDeltaAt;
      },
      stats: stats,
      get seq() {
        return store.seq;
      },
      get live() {
        return conn.isLive();
      },
      get lost() {
        return conn.banner() !== "";
      },
      /** Why this screen's access ended (sign-out, revocation), or null. */
      get ended() {
        return conn.ended;
      },
      /** The connection's named state: connecting, syncing, live, lost or denied. */
      get connection() {
        return conn.state;
      },
      serverNow: store.serverNow,
      appliedAt: figures.appliedAt,
      /** [colour, performance.now()] of a TPS's last paint on the map's overlay, or null. */
      painted: overlay.painted,
      appliedVersion: figures.appliedVersion,
      state: function (code) {
        var t = store.tps.get(code);
        return t ? JSON.parse(JSON.stringify(t)) : null;
      },
      staleCount: function () {
        return store.stale.size;
      },
      alertCount: function () {
        return store.alerts.size;
      },
      alertIds: function (kind, subject) {
        var out = [];
        store.alerts.forEach(function (al) {
          if (al.kind === kind && al.subject === subject) out.push(al.id);
        });
        return out;
      },
      incident: function (id) {
        var i = store.incidents.get(id) || store.resolved.get(id);
        return i ? JSON.parse(JSON.stringify(i)) : null;
      },
      get me() {
        return ops.me;
      },
      /** Whether the SOS alarm is on (read by the browser tests instead of the speakers). */
      get alarm() {
        return alarm.on;
      },
      /** Open SOS alerts nobody has acknowledged, as the band shows them. */
      get sos() {
        return sos.count;
      },
      /** The alarm's AudioContext: "running", "suspended" (needs a click), "closed" or "none". */
      get sound() {
        return alarm.sound;
      },
      logSize: function () {
        return store.log.length;
      },
      /** The time control: seek(iso), play(rate), pause(), live(); at (ISO or null), playing. */
      replay: {
        seek: function (iso) {
          return replay.seek(Date.parse(iso));
        },
        play: function (rate) {
          replay.play(rate);
        },
        pause: function () {
          replay.pause();
        },
        live: function () {
          replay.live();
        },
        get active() {
          return replay.active;
        },
        get at() {
          return replay.at === null ? null : new Date(replay.at).toISOString();
        },
        get playing() {
          return replay.playing;
        },
        get loading() {
          return replay.loading;
        },
        get rate() {
          return replay.rate;
        },
      },
    };

    // The server's callbacks hand over through these (ClientsideFunction("posko", ...)).
    var clientside = (window.dash_clientside = window.dash_clientside || {});
    clientside.posko = Object.assign(clientside.posko || {}, {
      configure: function (next) {
        if (next) window.poskoLive.configure(next);
        return window.dash_clientside.no_update;
      },
      officers: function (rows) {
        if (rows) window.poskoLive.setOfficers(rows);
        return window.dash_clientside.no_update;
      },
      select: function (code) {
        window.poskoLive.select(code || null);
        return window.dash_clientside.no_update;
      },
    });

    return { configure: configure };
  }
);
