/*
 * Posko live picture: /ws/live deltas -> one coalesced Dash update every TICK_MS.
 *
 * Socket -> buffer -> apply to the state here -> every tick ONE dash_clientside.set_props per
 * changed component, with a Patch (marker colour/size/text by index, counters, log). The
 * figures' shapes come from the server (dashboard/figures.py); this script only patches them.
 *
 * Order on every (re)connect: subscribe first, buffer deltas, load /api/v1/snapshot, then apply
 * the buffered deltas with seq > snapshot.seq. Deltas apply only when seq is contiguous (a gap
 * reloads the snapshot); a TPS state applies only when its version is newer.
 *
 * Staleness ("not seen within grace") is judged here every second against the SERVER's clock:
 * hello/heartbeat/delta carry `at`, the snapshot carries `clock_speed` for exercise clocks.
 *
 * Runs for days: one socket, three timers, bounded maps and arrays, nothing that grows with time.
 * Plain JS, no build step.
 */
(function () {
  "use strict";

  var TICK_MS = 150;
  var CHARTS_EVERY_MS = 2000; // timeline and progress bars (the map follows every tick)
  var TEXT_EVERY_MS = 500; // counters and the log: each change is a Dash render pass
  var MAP_MIN_MS = 100; // an idle map takes a change at once, but not more often than this
  var SECOND_MS = 1000;
  var LOST_AFTER_MS = 6000; // heartbeats come every 2 s: three missed = not live
  // Capped low: after a server restart every screen must be live again within 5 s, and after a
  // long outage the wait (cap + 30 % jitter) comes before the snapshot's load and render (a
  // 3 s cap left ~1 s for those); a wall's retry every 2 s costs the server nothing.
  var BACKOFF_MS = [300, 1000, 2000];
  var LOG_KEEP = 60;
  var BUFFER_MAX = 5000; // deltas held while a snapshot loads; more means resync
  var HOVER_REFRESH_MS = 30000; // "x min ago" in every hover label
  var PANELS_EVERY_MS = 60000; // commander: re-read incidents and silent officers
  var PANELS_MIN_MS = 2000;
  var OFFICERS_EVERY_MS = 300000; // officers' last report, re-read from /api/v1/officers
  var PLATFORM_EVERY_MS = 5000; // the server's own health, re-read from /api/v1/platform
  // "Slow" from here: a loop late by a quarter second delays every field ack by as much, and a
  // thousand reports waiting means the disk is not keeping up.
  var SLOW_LAG_MS = 250;
  var SLOW_QUEUE = 1000;
  var LISTS_MIN_MS = 400; // the alerts feed and the incident list: one redraw per this, at most

  var S = {
    cfg: null,
    tps: new Map(), // code -> TpsView (static facts and current state)
    incidents: new Map(), // id -> open IncidentPublic
    officers: new Map(), // NRP -> last seen (ms since epoch) or null
    stale: new Set(), // codes not seen within grace (as last evaluated)
    staleReady: false, // first evaluation after a snapshot logs nothing
    log: [], // LogEntry, newest first
    seq: null,
    channel: null,
    speed: 1,
    grace: {},
    clockAt: null, // server clock (ms) at clockPerf
    clockPerf: 0,
    ws: null,
    wsId: 0,
    attempt: 0,
    synced: false,
    everSynced: false,
    syncing: false,
    buffer: [],
    lastFrame: 0, // performance.now() of the last frame of any kind
    connectAt: 0,
    lastDataAt: null, // server time of the last frame (for "data 3 s ago")
    lost: false,
    denied: false,
    dirty: new Set(),
    dirtyAll: true,
    dirtyIncidents: true,
    dirtyLog: true,
    alerts: new Map(), // id -> open AlertPublic
    resolved: new Map(), // id -> IncidentPublic resolved (selesai), waiting to be closed
    officerNames: new Map(), // NRP -> "rank name"
    me: null, // /api/v1/auth/me: who this browser is, to show only the actions it may take
    meAt: 0,
    dirtyAlerts: true,
    alertsAt: 0,
    dirtyList: true, // the commander's incident list
    listAt: 0,
    applied: new Map(), // code -> performance.now() when its newest state was sent to Dash
    appliedVersion: new Map(),
    selected: null,
    chartsAt: 0,
    textAt: 0,
    mapAt: 0,
    panelsAt: 0,
    minuteAt: performance.now(),
    officersAt: performance.now(),
    panelsWanted: false,
    refreshes: 0,
    reconnected: false,
    stats: {
      frames: 0,
      deltas: 0,
      bytes: 0,
      lastBytes: 0,
      lastDeltaBytes: 0,
      patches: 0,
      lastPatchBytes: 0,
      resyncs: 0,
    },
  };
  // What each figure still has to show; a figure takes it only when its graph is idle.
  var Q = {
    map: { codes: new Set(), all: true, incidents: true },
    timeline: { codes: new Set(), all: true },
    progress: { any: true },
  };
  var M = null; // map figure tracker
  var T = null; // timeline figure tracker
  var P = null; // progress figure tracker
  var shown = new Map(); // element key -> text last written (counters, header)
  var lastHoverAll = 0;
  var started = false;

  // ---- small helpers -------------------------------------------------------------------

  function now() {
    return performance.now();
  }

  function serverNow() {
    if (S.clockAt === null) return Date.now();
    return S.clockAt + (now() - S.clockPerf) * S.speed;
  }

  function setClock(iso) {
    var at = Date.parse(iso);
    if (!isNaN(at)) {
      S.clockAt = at;
      S.clockPerf = now();
      S.lastDataAt = at;
    }
  }

  function ms(iso) {
    return iso ? Date.parse(iso) : null;
  }

  function esc(text) {
    // Field officers type incident descriptions; hover labels read a little HTML.
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) {
      return values[k] === undefined || values[k] === null ? "" : String(values[k]);
    });
  }

  function word(key) {
    return S.cfg ? S.cfg.i18n.words[key] : "";
  }

  var wibParts = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Asia/Jakarta",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
    weekday: "short",
  });

  function wib(at) {
    var out = {};
    wibParts.formatToParts(new Date(at)).forEach(function (p) {
      out[p.type] = p.value;
    });
    return out;
  }

  function hhmm(at) {
    var p = wib(at);
    return p.hour + ":" + p.minute;
  }

  function hhmmss(at) {
    var p = wib(at);
    return p.hour + ":" + p.minute + ":" + p.second;
  }

  // The timeline's x values: WIB wall time without offset, like figures.axis_time.
  function axisTime(at) {
    var p = wib(at);
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + ":" + p.second;
  }

  var WEEKDAYS = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

  function dateText(at) {
    var p = wib(at);
    var i18n = S.cfg.i18n;
    return (
      i18n.days[WEEKDAYS[p.weekday]] + ", " + Number(p.day) + " " + i18n.months[Number(p.month) - 1] + " " + p.year
    );
  }

  function agoText(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    if (s < 60) return fmt(word("ago_s"), { n: s });
    if (s < 3600) return fmt(word("ago_m"), { n: Math.floor(s / 60) });
    return fmt(word("ago_h"), { n: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  }

  function layoutOf(id) {
    try {
      var api = window.dash_component_api;
      var c = api && api.getLayout ? api.getLayout(id) : null;
      return c && c.props ? c.props : c || null;
    } catch (e) {
      return null;
    }
  }

  function figureOf(id) {
    var props = layoutOf(id);
    return props && props.figure ? props.figure : null;
  }

  function setProps(id, props) {
    if (!window.dash_clientside || !window.dash_clientside.set_props) return false;
    if (!layoutOf(id)) return false; // not on this page (any more)
    window.dash_clientside.set_props(id, props);
    return true;
  }

  function setText(id, key, text) {
    if (shown.get(key) === text) return;
    if (setProps(id, { children: text })) shown.set(key, text);
  }

  function setPhaseCount(key, text) {
    // A whole kabupaten in one phase is four digits: narrower figures so they fit the tile.
    if (shown.get("c:" + key) === text) return;
    var size = text.length >= 5 ? " digits-5" : text.length === 4 ? " digits-4" : "";
    if (setProps(counterId(key), { children: text, className: "phase-value" + size })) {
      shown.set("c:" + key, text);
    }
  }

  function counterId(key) {
    return { type: S.cfg.counter_type, view: S.cfg.view, key: key };
  }

  function comp(type, props) {
    return { type: type, namespace: "dash_html_components", props: props };
  }

  function scale() {
    // Marker sizes and chart fonts are set for 1920x1080; a 4K wall gets them doubled.
    return Math.max(1, Math.min(window.innerWidth / 1920, window.innerHeight / 1080));
  }

  // ---- how a TPS looks (same rules as dashboard/figures.py) ------------------------------------

  function graceOf(t) {
    if (!t.phase) return null;
    var row = S.grace[t.risk] || {};
    var g = row[t.phase];
    return g === undefined ? null : g;
  }

  function isStale(t, at) {
    var g = graceOf(t);
    if (g === null || !t.last_seen_ms) return false;
    return (at - t.last_seen_ms) / 1000 > g;
  }

  var SITUATION_RANK = { aman: 1, waspada: 2, gangguan: 3 };

  function effectiveSituation(t) {
    // The worse of what officers report and what open incidents raise the TPS to (figures.py).
    var pinged = t.situation || null;
    var raised = t.incident_situation || null;
    return (SITUATION_RANK[raised] || 0) > (SITUATION_RANK[pinged] || 0) ? raised : pinged;
  }

  function markerState(t) {
    if (S.stale.has(t.code)) return "stale";
    return effectiveSituation(t) || "belum";
  }

  function markerStyle(t, state, mode) {
    var th = S.cfg.theme;
    var k = scale();
    if (mode === "phase" && state !== "stale") {
      return [th.phase_colours[t.phase || "belum"], th.phase_size * k];
    }
    return [th.situation_colours[state], th.situation_sizes[state] * k];
  }

  function hoverText(t, state, at) {
    var i18n = S.cfg.i18n;
    var w = i18n.words;
    var situation = i18n.situations[effectiveSituation(t) || "belum"];
    if (state === "stale") situation += " · <b>" + i18n.situations.stale + "</b>";
    var seen;
    if (!t.last_seen_ms) {
      seen = w.h_never;
    } else {
      seen = hhmm(t.last_seen_ms) + " " + w.wib + " (" + agoText((at - t.last_seen_ms) / 1000) + ")";
      if (t.last_officer) seen += "<br>" + w.h_by + " " + t.last_officer;
    }
    return (
      "<b>" + t.name + " · " + t.code + "</b><br>" +
      w.h_desa + " " + t.desa + " (" + t.desa_code + ")<br>" +
      w.h_kecamatan + " " + t.kecamatan + " (" + t.kecamatan_code + ")<br>" +
      w.h_phase + ": " + i18n.phases[t.phase || "belum"] + " · " + w.h_situation + ": " + situation + "<br>" +
      w.h_risk + ": " + i18n.risks[t.risk] + "<br>" +
      w.h_seen + ": " + seen
    );
  }

  function tpsLabel(code) {
    var t = S.tps.get(code);
    return t ? t.desa + " " + t.name : code || "—";
  }

  // ---- state ---------------------------------------------------------------------------

  function keepTps(v) {
    v.last_seen_ms = ms(v.last_seen_at);
    return v;
  }

  function applySnapshot(snap) {
    var tps = new Map();
    snap.tps.forEach(function (v) {
      tps.set(v.code, keepTps(v));
    });
    S.tps = tps;
    S.incidents = new Map();
    snap.incidents.forEach(function (i) {
      S.incidents.set(i.id, i);
    });
    S.alerts = new Map();
    (snap.alerts || []).forEach(function (a) {
      S.alerts.set(a.id, a);
    });
    S.dirtyAlerts = true;
    S.dirtyList = true;
    S.seq = snap.seq;
    S.channel = snap.channel;
    S.speed = snap.clock_speed || 1;
    S.grace = snap.grace_s || {};
    if (S.clockAt === null) setClock(snap.taken_at);
    noteOfficersFromTps();
    S.dirtyAll = true;
    S.dirtyIncidents = true;
    S.dirtyLog = true;
  }

  function applyDelta(d) {
    if (S.seq !== null && d.seq <= S.seq) return true; // already in the snapshot
    if (S.seq !== null && d.seq !== S.seq + 1) return false; // a gap: resync
    S.seq = d.seq;
    setClock(d.at);
    S.stats.deltas += 1;
    (d.tps || []).forEach(function (st) {
      var cur = S.tps.get(st.code);
      if (!cur || st.version < cur.version) return; // unknown or older than what we show
      if (st.version === cur.version) {
        // Same report, new incident situation (an incident opened, was handled or closed):
        // only that field moves; the rest of this state is what we already show.
        if (!("incident_situation" in st) || st.incident_situation === cur.incident_situation) return;
        cur.incident_situation = st.incident_situation;
        S.dirty.add(st.code);
        return;
      }
      Object.keys(st).forEach(function (k) {
        cur[k] = st[k];
      });
      keepTps(cur);
      noteOfficer(cur.last_officer, cur.last_seen_ms);
      S.dirty.add(st.code);
      if (st.code === S.selected) S.panelsWanted = true;
    });
    (d.incidents || []).forEach(function (inc) {
      noteIncident(inc);
      (inc.reported_by || []).forEach(function (nrp) {
        noteOfficer(nrp, ms(inc.updated_at));
      });
      S.dirtyIncidents = true;
      S.panelsWanted = true;
    });
    (d.alerts || []).forEach(noteAlert);
    if (d.log && d.log.length) {
      addLog(d.log);
    }
    window.poskoLive.lastDeltaAt = now();
    return true;
  }

  var OPEN = ["baru", "diterima", "ditangani"];

  function noteIncident(inc) {
    // Open ones are on the map and counted; resolved ones wait in the commander's list for
    // closing; closed (or merged away) ones leave. A copy older than the one held is ignored.
    var held = S.incidents.get(inc.id) || S.resolved.get(inc.id);
    if (held && (held.version || 0) > (inc.version || 0)) return;
    S.incidents.delete(inc.id);
    S.resolved.delete(inc.id);
    if (OPEN.indexOf(inc.status) >= 0) S.incidents.set(inc.id, inc);
    else if (inc.status === "selesai") S.resolved.set(inc.id, inc);
    S.dirtyList = true;
    S.dirtyAlerts = true; // alerts about incidents name them
  }

  function noteAlert(a) {
    var held = S.alerts.get(a.id);
    if (held && held.version > a.version) return;
    if (a.cleared_at) S.alerts.delete(a.id);
    else S.alerts.set(a.id, a);
    S.dirtyAlerts = true;
  }

  function logKey(e) {
    return [e.kind, e.tps, e.at, e.after, e.incident_id].join("|");
  }

  function addLog(entries) {
    // The log read and the deltas around it overlap: keep each entry once.
    var seen = new Set(S.log.map(logKey));
    var fresh = entries.filter(function (e) {
      var k = logKey(e);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    if (!fresh.length) return;
    S.log = fresh.concat(S.log);
    S.log.sort(function (a, b) {
      return ms(b.at) - ms(a.at);
    });
    if (S.log.length > LOG_KEEP) S.log.length = LOG_KEEP;
    S.dirtyLog = true;
  }

  function noteOfficer(nrp, at) {
    if (!nrp || !at) return;
    var cur = S.officers.get(nrp);
    if (cur === undefined) return; // not in this area
    if (cur === null || at > cur) S.officers.set(nrp, at);
  }

  function noteOfficersFromTps() {
    S.tps.forEach(function (t) {
      noteOfficer(t.last_officer, t.last_seen_ms);
    });
  }

  function evaluateStale() {
    var at = serverNow();
    var silences = [];
    S.tps.forEach(function (t) {
      var stale = isStale(t, at);
      if (stale === S.stale.has(t.code)) return;
      if (stale) {
        S.stale.add(t.code);
        if (S.staleReady) {
          silences.push({
            at: new Date(t.last_seen_ms + graceOf(t) * 1000).toISOString(),
            kind: "silence",
            tps: t.code,
            officer: t.last_officer,
            after: String(Math.round(graceOf(t) / 60)),
          });
        }
      } else {
        S.stale.delete(t.code);
      }
      S.dirty.add(t.code);
    });
    S.staleReady = true;
    if (silences.length) addLog(silences);
  }

  // ---- the socket ----------------------------------------------------------------------

  function wsUrl() {
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    return proto + "//" + location.host + S.cfg.urls.live;
  }

  function connect() {
    if (!S.cfg) return;
    var id = ++S.wsId;
    var ws;
    try {
      ws = new WebSocket(wsUrl());
    } catch (e) {
      scheduleReconnect();
      return;
    }
    S.ws = ws;
    S.reconnected = S.everSynced;
    S.connectAt = now();
    S.synced = false;
    S.syncing = false;
    S.buffer = [];
    ws.onmessage = function (ev) {
      if (id !== S.wsId) return;
      onFrame(ev.data);
    };
    ws.onclose = function (ev) {
      if (id !== S.wsId) return;
      S.ws = null;
      S.synced = false;
      if (ev.code === 1008) S.denied = true;
      markLost();
      scheduleReconnect();
    };
    ws.onerror = function () {
      /* onclose follows and handles it */
    };
  }

  function scheduleReconnect() {
    var base = BACKOFF_MS[Math.min(S.attempt, BACKOFF_MS.length - 1)];
    S.attempt += 1;
    var wsId = S.wsId;
    setTimeout(function () {
      if (wsId === S.wsId && !S.ws) connect();
    }, base + Math.random() * base * 0.3);
  }

  function drop(reason) {
    // Close this socket and start over: the next connection resyncs from a snapshot.
    var ws = S.ws;
    S.ws = null;
    S.synced = false;
    S.wsId += 1;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      try {
        ws.close(4000, reason);
      } catch (e) {
        /* already closed */
      }
    }
    markLost();
    scheduleReconnect();
  }

  function onFrame(text) {
    S.lastFrame = now();
    S.stats.frames += 1;
    S.stats.bytes += text.length;
    S.stats.lastBytes = text.length;
    var msg;
    try {
      msg = JSON.parse(text);
    } catch (e) {
      return;
    }
    if (msg.type === "hello") {
      setClock(msg.at);
      resync();
    } else if (msg.type === "heartbeat") {
      setClock(msg.at);
      // The heartbeat carries the channel's last seq: ahead of ours means we missed a delta.
      if (S.synced && msg.seq > S.seq) resync();
    } else if (msg.type === "delta") {
      S.stats.lastDeltaBytes = text.length;
      if (!S.synced) {
        S.buffer.push(msg);
        if (S.buffer.length > BUFFER_MAX) {
          S.buffer = [];
          resync();
        }
      } else if (!applyDelta(msg)) {
        resync();
      } else if (S.dirty.size) {
        soon();
      }
    } else if (msg.type === "resync") {
      resync();
    } else if (msg.type === "error") {
      S.denied = msg.error && msg.error.field === "token";
    }
  }

  function resync() {
    if (S.syncing) return;
    S.syncing = true;
    S.synced = false;
    S.stats.resyncs += 1;
    var wsId = S.wsId;
    var ctl = new AbortController();
    var timer = setTimeout(function () {
      ctl.abort();
    }, 15000);
    var opts = { credentials: "same-origin", cache: "no-store", signal: ctl.signal };
    function get(url) {
      return fetch(url, opts).then(function (r) {
        if (r.status === 401 || r.status === 403) S.denied = true;
        if (!r.ok) throw new Error(url + " " + r.status);
        return r.json();
      });
    }
    // Subscribed first (this socket buffers every delta), then the snapshot and the log.
    var reads = [get(S.cfg.urls.snapshot), get(S.cfg.urls.log)];
    if (S.cfg.urls.incidents) reads.push(get(S.cfg.urls.incidents));
    Promise.all(reads)
      .then(function (res) {
        clearTimeout(timer);
        if (wsId !== S.wsId) return; // an older connection's reload
        applySnapshot(res[0]);
        S.resolved = new Map();
        (res[2] ? res[2].data : []).forEach(function (inc) {
          if (inc.status === "selesai") S.resolved.set(inc.id, inc);
        });
        // Silences are judged here and not stored by the server: keep the ones we saw.
        var silences = S.log.filter(function (e) {
          return e.kind === "silence";
        });
        S.log = [];
        addLog(res[1].concat(silences));
        // What arrived meanwhile, in order; JavaScript runs nothing else until this returns.
        var buffered = S.buffer;
        S.buffer = [];
        S.syncing = false;
        for (var i = 0; i < buffered.length; i++) {
          if (!applyDelta(buffered[i])) {
            resync(); // the stream lost one between subscribe and snapshot: again
            return;
          }
        }
        S.synced = true;
        S.denied = false;
        S.attempt = 0;
        if (S.reconnected) {
          // Back after a loss: the server re-draws what it draws (timeline, progress, officers).
          S.reconnected = false;
          S.refreshes += 1;
          setProps(S.cfg.ids.refresh, { data: S.refreshes });
        }
        S.everSynced = true;
        evaluateStale();
        markLive();
        flush();
      })
      .catch(function () {
        clearTimeout(timer);
        if (wsId !== S.wsId) return;
        S.syncing = false;
        drop("resync failed");
      });
  }

  // ---- live or not ---------------------------------------------------------------------

  function isLive() {
    // A resync on an open, talking socket is still live: it lasts a fraction of a second.
    var state = S.synced || (S.syncing && S.everSynced);
    return !!(S.ws && S.ws.readyState === 1 && state && now() - S.lastFrame <= LOST_AFTER_MS);
  }

  function markLost() {
    if (!S.lost) {
      S.lost = true;
      document.body.classList.add("posko-lost");
    }
    renderBanner();
  }

  function markLive() {
    if (S.lost) {
      S.lost = false;
      document.body.classList.remove("posko-lost");
    }
    renderBanner();
  }

  function renderBanner() {
    if (!S.cfg) return;
    var id = S.cfg.ids.banner;
    if (!S.lost) {
      if (shown.get("banner") !== "") {
        if (setProps(id, { className: "banner hidden", children: "" })) shown.set("banner", "");
      }
      return;
    }
    var text;
    if (S.denied) {
      text = word("denied_banner");
    } else {
      var age = S.lastDataAt === null ? "—" : agoText((serverNow() - S.lastDataAt) / 1000);
      text = fmt(word("lost_banner"), { age: age });
    }
    if (shown.get("banner") !== text) {
      if (setProps(id, { className: "banner", children: text })) shown.set("banner", text);
    }
  }

  // ---- drawing -------------------------------------------------------------------------

  function syncMap(patch) {
    var id = S.cfg.ids.map;
    var fig = figureOf(id);
    if (!fig || !fig.layout || !fig.layout.meta || fig.layout.meta.kind !== "map" || !fig.data.length) {
      return false;
    }
    var meta = fig.layout.meta;
    var all = Q.map.all;
    if (!M || M.rev !== meta.rev) {
      var ids = fig.data[0].ids || [];
      M = {
        rev: meta.rev,
        mode: meta.mode,
        index: new Map(),
        codes: ids,
        colour: fig.data[0].marker.color.slice(),
        size: fig.data[0].marker.size.slice(),
        text: fig.data[0].hovertext.slice(),
        incidents: null,
      };
      ids.forEach(function (code, i) {
        M.index.set(code, i);
      });
      all = true;
      if (meta.fit !== false) fitMap(patch, meta.bounds);
    }
    var at = serverNow();
    var wantAllText = all || now() - lastHoverAll > HOVER_REFRESH_MS;
    var codes = all ? M.codes : Array.from(Q.map.codes);
    var changes = [];
    codes.forEach(function (code) {
      var i = M.index.get(code);
      var t = S.tps.get(code);
      if (i === undefined || !t) return;
      var state = markerState(t);
      var style = markerStyle(t, state, M.mode);
      var text = hoverText(t, state, at);
      if (style[0] !== M.colour[i] || style[1] !== M.size[i] || text !== M.text[i]) {
        changes.push([i, style[0], style[1], text]);
      }
      S.applied.set(code, now());
      S.appliedVersion.set(code, t.version);
    });
    if (changes.length > 40 || wantAllText) {
      // Many at once (a refit, a reload): three whole arrays are cheaper than many paths.
      changes.forEach(function (c) {
        M.colour[c[0]] = c[1];
        M.size[c[0]] = c[2];
        M.text[c[0]] = c[3];
      });
      if (wantAllText) {
        lastHoverAll = now();
        M.codes.forEach(function (code, i) {
          var t = S.tps.get(code);
          if (t) M.text[i] = hoverText(t, markerState(t), at);
        });
      }
      if (changes.length || wantAllText) {
        patch.assign(["data", 0, "marker", "color"], M.colour.slice());
        patch.assign(["data", 0, "marker", "size"], M.size.slice());
        patch.assign(["data", 0, "hovertext"], M.text.slice());
      }
    } else {
      changes.forEach(function (c) {
        var i = c[0];
        if (c[1] !== M.colour[i]) patch.assign(["data", 0, "marker", "color", i], c[1]);
        if (c[2] !== M.size[i]) patch.assign(["data", 0, "marker", "size", i], c[2]);
        if (c[3] !== M.text[i]) patch.assign(["data", 0, "hovertext", i], c[3]);
        M.colour[i] = c[1];
        M.size[i] = c[2];
        M.text[i] = c[3];
      });
    }
    if (all || Q.map.incidents) syncIncidents(patch);
    Q.map = { codes: new Set(), all: false, incidents: false };
    return true;
  }

  function fitMap(patch, bounds) {
    var el = document.getElementById(S.cfg.ids.map);
    if (!el || !bounds) return;
    var box = el.getBoundingClientRect();
    if (box.width < 50 || box.height < 50) return;
    var dlon = Math.max(bounds[2] - bounds[0], 0.01);
    var dlat = Math.max(bounds[3] - bounds[1], 0.01);
    var fit = Math.min((box.width * 360) / (512 * dlon), (box.height * 360) / (512 * dlat)) * 0.92;
    var zoom = Math.round(Math.min(Math.log2(fit), 15) * 100) / 100;
    patch.assign(["layout", "map", "zoom"], zoom);
    patch.assign(["layout", "map", "center"], {
      lat: (bounds[1] + bounds[3]) / 2,
      lon: (bounds[0] + bounds[2]) / 2,
    });
  }

  function syncIncidents(patch) {
    var th = S.cfg.theme;
    var placed = [];
    S.incidents.forEach(function (inc) {
      if (inc.lat !== null && inc.lon !== null) placed.push(inc);
    });
    placed.sort(function (a, b) {
      return a.severity - b.severity || a.id - b.id;
    });
    var i18n = S.cfg.i18n;
    var w = i18n.words;
    var k = scale();
    var sig = JSON.stringify(
      placed.map(function (i) {
        return [i.id, i.severity, i.status, i.reports];
      })
    );
    if (M.incidents === sig) return;
    M.incidents = sig;
    var colours = placed.map(function (i) {
      return th.severity_colours[String(i.severity)];
    });
    var common = {
      ids: placed.map(function (i) {
        return String(i.id);
      }),
      lat: placed.map(function (i) {
        return i.lat;
      }),
      lon: placed.map(function (i) {
        return i.lon;
      }),
    };
    [1, 2].forEach(function (trace) {
      patch.assign(["data", trace, "ids"], common.ids);
      patch.assign(["data", trace, "lat"], common.lat);
      patch.assign(["data", trace, "lon"], common.lon);
      patch.assign(["data", trace, "marker", "color"], colours);
    });
    patch.assign(
      ["data", 1, "marker", "size"],
      placed.map(function (i) {
        return (th.ring.base + th.ring.per_severity * i.severity) * k;
      })
    );
    patch.assign(
      ["data", 2, "marker", "size"],
      placed.map(function (i) {
        return (th.core.base + th.core.per_severity * i.severity) * k;
      })
    );
    patch.assign(
      ["data", 2, "hovertext"],
      placed.map(function (i) {
        return (
          "<b>" + fmt(w.sev, { n: i.severity }) + " " + i18n.categories[i.category] + "</b><br>" +
          "TPS " + (i.tps || "—") + " · " + hhmm(ms(i.opened_at)) + " " + w.wib + "<br>" +
          i.reported_by.join(", ") + "<br>" + esc((i.description || "").slice(0, 120))
        );
      })
    );
  }

  function scaleFonts(patch, fig) {
    // Chart text is sized for 1920x1080 in pixels; a 4K wall gets it (and the label margin) larger.
    var k = scale();
    if (k <= 1) return false;
    var layout = fig.layout;
    patch.assign(["layout", "font", "size"], Math.round((layout.font.size || 13) * k));
    patch.assign(["layout", "margin", "l"], Math.round(layout.margin.l * k));
    patch.assign(["layout", "margin", "b"], Math.round(layout.margin.b * k));
    fig.data.forEach(function (tr, i) {
      if (tr.type === "scatter" && tr.marker && typeof tr.marker.size === "number") {
        patch.assign(["data", i, "marker", "size"], tr.marker.size * k);
      }
    });
    (layout.annotations || []).forEach(function (a, i) {
      patch.assign(["layout", "annotations", i, "font", "size"], Math.round(a.font.size * k));
    });
    return true;
  }

  function problemOf(t) {
    if (S.stale.has(t.code)) return 3;
    if (t.situation === "gangguan") return 2;
    if (t.situation === "waspada") return 1;
    return 0;
  }

  function phaseIndex(t) {
    return S.cfg.theme.phase_keys.indexOf(t.phase || "belum");
  }

  function syncTimeline() {
    var id = S.cfg.ids.timeline;
    var fig = figureOf(id);
    if (!fig || !fig.layout || !fig.layout.meta || fig.layout.meta.kind !== "timeline" || !fig.data.length) {
      return;
    }
    var meta = fig.layout.meta;
    var patch = new window.dash_clientside.Patch();
    var touched = false;
    if (!T || T.rev !== meta.rev) {
      T = {
        rev: meta.rev,
        start: Date.parse(meta.start),
        end: Date.parse(meta.day_end),
        bin: meta.bin_s * 1000,
        filled: meta.bins,
        row: new Map(),
        marks: new Set(),
        nowX: null,
        rangeEnd: Date.parse(fig.layout.xaxis.range[1].replace(" ", "T") + "+07:00"),
      };
      (fig.data[0].y || []).forEach(function (code, r) {
        T.row.set(code, r);
      });
      [1, 2, 3].forEach(function (k) {
        var tr = fig.data[k];
        for (var i = 0; tr && i < tr.x.length; i++) T.marks.add(tr.x[i] + "|" + tr.y[i] + "|" + k);
      });
      if (scaleFonts(patch, fig)) touched = true;
      Q.timeline.all = true; // this state may be newer than the figure's last column
    }
    var at = serverNow();
    var bin = Math.floor((at - T.start) / T.bin);
    var lastBin = Math.round((T.end - T.start) / T.bin) - 1;
    var pending = Q.timeline;
    Q.timeline = { codes: new Set(), all: false };
    if (bin > lastBin && !T.renewed) {
      // A new election day's picture (05:00 WIB): the server draws its figures afresh.
      T.renewed = true;
      S.refreshes += 1;
      setProps(S.cfg.ids.refresh, { data: S.refreshes });
    }
    if (bin > lastBin || bin < 0) return;
    if (bin >= T.filled) {
      // Time moved into new bins: extend every row with what each TPS shows now.
      var z = fig.data[0].z.map(function (row, r) {
        var code = fig.data[0].y[r];
        var t = S.tps.get(code);
        var out = row.slice();
        for (var b = T.filled; b <= bin; b++) out[b] = t ? phaseIndex(t) : 0;
        return out;
      });
      var xs = fig.data[0].x.slice();
      for (var b = T.filled; b <= bin; b++) xs.push(axisTime(T.start + (b + 0.5) * T.bin));
      patch.assign(["data", 0, "z"], z);
      patch.assign(["data", 0, "x"], xs);
      for (var nb = T.filled; nb <= bin; nb++) {
        T.row.forEach(function (_, code) {
          markProblem(patch, code, nb);
        });
      }
      T.filled = bin + 1;
      touched = true;
    } else if (pending.codes.size || pending.all) {
      var codes = pending.all ? Array.from(T.row.keys()) : Array.from(pending.codes);
      var zrows = fig.data[0].z;
      codes.forEach(function (code) {
        var r = T.row.get(code);
        var t = S.tps.get(code);
        if (r === undefined || !t) return;
        var v = phaseIndex(t);
        if (zrows[r][bin] !== v) {
          patch.assign(["data", 0, "z", r, bin], v);
          touched = true;
        }
        if (markProblem(patch, code, bin)) touched = true;
      });
    }
    var nowX = axisTime(at);
    if (!T.nowX || nowX.slice(0, 16) !== T.nowX.slice(0, 16)) {
      T.nowX = nowX;
      patch.assign(["layout", "shapes", 0, "x0"], nowX);
      patch.assign(["layout", "shapes", 0, "x1"], nowX);
      touched = true;
      var wanted = Math.min(at + 3600 * 1000, T.end);
      if (wanted > T.rangeEnd) {
        T.rangeEnd = wanted;
        patch.assign(["layout", "xaxis", "range"], [axisTime(T.start), axisTime(wanted)]);
      }
    }
    if (touched) send(id, patch);
  }

  function markProblem(patch, code, bin) {
    var t = S.tps.get(code);
    if (!t) return false;
    var k = problemOf(t);
    if (!k) return false;
    var x = axisTime(T.start + (bin + 0.5) * T.bin);
    var key = x + "|" + code + "|" + k;
    if (T.marks.has(key)) return false;
    T.marks.add(key);
    patch.append(["data", k, "x"], x);
    patch.append(["data", k, "y"], code);
    return true;
  }

  function syncProgress() {
    var id = S.cfg.ids.progress;
    var fig = figureOf(id);
    if (!fig || !fig.layout || !fig.layout.meta || fig.layout.meta.kind !== "progress") return false;
    var meta = fig.layout.meta;
    var patch = new window.dash_clientside.Patch();
    var touched = false;
    if (!P || P.rev !== meta.rev) {
      P = {
        rev: meta.rev,
        kec: meta.kecamatan,
        x: fig.data.map(function (tr) {
          return tr.x.slice();
        }),
      };
      touched = scaleFonts(patch, fig);
    }
    var keys = fig.data.map(function (tr) {
      return tr.meta;
    });
    var counts = keys.map(function () {
      return P.kec.map(function () {
        return 0;
      });
    });
    var kecIndex = new Map();
    P.kec.forEach(function (k, i) {
      kecIndex.set(k, i);
    });
    S.tps.forEach(function (t) {
      var r = kecIndex.get(t.kecamatan_code);
      var k = keys.indexOf(t.phase || "belum");
      if (r !== undefined && k >= 0) counts[k][r] += 1;
    });
    counts.forEach(function (arr, k) {
      if (arr.join(",") !== P.x[k].join(",")) {
        P.x[k] = arr;
        patch.assign(["data", k, "x"], arr);
        touched = true;
      }
    });
    if (touched) send(id, patch);
    return true;
  }

  function renderCounters() {
    var keys = S.cfg.theme.phase_keys;
    var phases = {};
    keys.forEach(function (k) {
      phases[k] = 0;
    });
    var waspada = 0;
    var gangguan = 0;
    S.tps.forEach(function (t) {
      phases[t.phase || "belum"] += 1;
      var sit = effectiveSituation(t);
      if (sit === "waspada") waspada += 1;
      if (sit === "gangguan") gangguan += 1;
    });
    keys.forEach(function (k) {
      setPhaseCount(k, String(phases[k]));
    });
    setText(counterId("tps"), "c:tps", String(S.tps.size));
    setText(counterId("waspada"), "c:waspada", String(waspada));
    setText(counterId("gangguan"), "c:gangguan", String(gangguan));
    setText(counterId("stale"), "c:stale", String(S.stale.size));
    var sev = {};
    var levels = Object.keys(S.cfg.theme.severity_colours);
    levels.forEach(function (n) {
      sev[n] = 0;
    });
    S.incidents.forEach(function (i) {
      sev[String(i.severity)] = (sev[String(i.severity)] || 0) + 1;
    });
    setText(counterId("incidents"), "c:incidents", String(S.incidents.size));
    levels.forEach(function (n) {
      setText(counterId("sev" + n), "c:sev" + n, String(sev[n]));
    });
    var at = serverNow();
    var limit = S.cfg.silent_after_s * 1000;
    var silent = 0;
    S.officers.forEach(function (seen) {
      if (seen === null || at - seen > limit) silent += 1;
    });
    if (S.officers.size) {
      setText(counterId("silent"), "c:silent", String(silent));
      setText(counterId("silent_sub"), "c:silent_sub", fmt(word("c_silent_sub"), { n: S.officers.size }));
    }
  }

  function logText(e) {
    var i18n = S.cfg.i18n;
    var w = i18n.words;
    if (e.kind === "phase") {
      return fmt(w.log_phase, {
        tps: tpsLabel(e.tps),
        before: i18n.phases[e.before || "belum"],
        after: i18n.phases[e.after],
      });
    }
    if (e.kind === "situation") {
      return fmt(w.log_situation, {
        tps: tpsLabel(e.tps),
        before: i18n.situations[e.before || "belum"],
        after: i18n.situations[e.after],
      });
    }
    if (e.kind === "incident") {
      return fmt(w.log_incident, {
        severity: e.severity,
        category: i18n.categories[e.after] || e.after,
        tps: tpsLabel(e.tps),
      });
    }
    return fmt(w.log_silence, { tps: tpsLabel(e.tps), grace: e.after });
  }

  function logClass(e) {
    if (e.kind === "incident") return "log-row log-incident sev-" + e.severity;
    if (e.kind === "silence") return "log-row log-silence";
    if (e.kind === "situation") return "log-row log-situation to-" + e.after;
    return "log-row log-phase";
  }

  function renderLog() {
    var rows = S.log.slice(0, S.cfg.log_show).map(function (e) {
      return comp("Div", {
        className: logClass(e),
        children: [
          comp("Span", { className: "log-time", children: hhmm(ms(e.at)) }),
          comp("Span", { className: "log-text", children: logText(e) }),
          comp("Span", { className: "log-who", children: e.officer ? fmt(word("log_by"), { nrp: e.officer }) : "" }),
        ],
      });
    });
    if (!rows.length) rows = word("log_empty");
    setProps(S.cfg.ids.log, { children: rows });
  }

  function renderHeader() {
    var at = serverNow();
    var ids = S.cfg.ids;
    setText(ids.clock, "clock", hhmmss(at) + " " + word("wib"));
    setText(ids.date, "date", dateText(at));
    if (S.cfg.exercise) {
      var label = fmt(word("exercise"), { label: S.cfg.exercise });
      if (shown.get("exercise") !== label && setProps(ids.exercise, { children: label, className: "exercise" })) {
        shown.set("exercise", label);
      }
    }
    var cls, text;
    if (isLive()) {
      cls = "freshness live";
      text = "● " + word("live") + " · " + fmt(word("data_age"), { age: agoText((now() - S.lastFrame) / 1000) });
    } else if (!S.everSynced) {
      cls = "freshness connecting";
      text = word("connecting");
    } else {
      cls = "freshness lost";
      text = "■ " + fmt(word("data_age"), { age: agoText((serverNow() - (S.lastDataAt || serverNow())) / 1000) });
    }
    if (shown.get("fresh") !== cls + text && setProps(ids.freshness, { className: cls, children: text })) {
      shown.set("fresh", cls + text);
    }
  }

  function send(id, patch) {
    var built = patch.build();
    if (!built.operations.length) return false;
    S.stats.patches += 1;
    S.stats.lastPatchBytes = JSON.stringify(built).length;
    return setProps(id, { figure: built });
  }

  function busy(id) {
    // dcc.Graph draws every figure it is given, one after the other: handing it patches faster
    // than it draws (a map takes 0.2-0.5 s with software WebGL) builds an ever longer queue and
    // the screen falls minutes behind. So a graph gets its next patch only when it is idle,
    // and that patch carries everything that changed meanwhile.
    var gd = document.querySelector("#" + id + " .js-plotly-plot");
    return !gd || gd.classList.contains("dash-graph--pending");
  }

  function flush() {
    if (!S.cfg || !S.tps.size) return;
    S.dirty.forEach(function (code) {
      Q.map.codes.add(code);
      Q.timeline.codes.add(code);
    });
    if (S.dirtyAll) {
      Q.map.all = true;
      Q.timeline.all = true;
    }
    if (S.dirtyIncidents) Q.map.incidents = true;
    if (S.dirty.size || S.dirtyAll) Q.progress.any = true;
    S.dirty.clear();
    S.dirtyAll = false;
    S.dirtyIncidents = false;
    var ids = S.cfg.ids;
    var mapSent = false;
    if (!busy(ids.map) && now() - S.mapAt >= MAP_MIN_MS) {
      var patch = new window.dash_clientside.Patch();
      mapSent = syncMap(patch) && send(ids.map, patch);
      if (mapSent) S.mapAt = now();
    }
    // The charts take 50-200 ms of this thread per draw, and the map's draw waits behind them:
    // under load they were redrawn every tick and the map fell seconds behind. A day-long
    // timeline and the progress bars lose nothing by following every CHARTS_EVERY_MS.
    if (now() - S.chartsAt >= CHARTS_EVERY_MS || Q.timeline.all) {
      S.chartsAt = now();
      if (!busy(ids.timeline)) syncTimeline();
      if (Q.progress.any && !busy(ids.progress) && syncProgress()) Q.progress.any = false;
    }
    // Every changed counter or log is a render pass of the whole Dash tree on this thread:
    // they change with the map's markers, or on their own at most every TEXT_EVERY_MS.
    if (mapSent || now() - S.textAt >= TEXT_EVERY_MS) {
      S.textAt = now();
      renderCounters();
      if (S.dirtyLog) {
        renderLog();
        S.dirtyLog = false;
      }
    }
    // Ages ("5 min ago") and silences that ran out move with time: redraw every 30 s as well.
    // At most every LISTS_MIN_MS: Dash walks the whole layout on every new set of children, and
    // a sweep can change hundreds of alerts a few deltas at a time.
    var t = now();
    if ((S.dirtyAlerts && t - S.alertsAt > LISTS_MIN_MS) || t - S.alertsAt > 30000) {
      S.dirtyAlerts = false;
      renderAlerts();
    }
    if (S.cfg.incidents && ((S.dirtyList && t - S.listAt > LISTS_MIN_MS) || t - S.listAt > 30000)) {
      S.dirtyList = false;
      S.listAt = now();
      renderIncidents();
    }
    wantPanels();
  }

  var soonTimer = null;

  function soon() {
    // A change for an idle map goes out now rather than at the next tick (up to TICK_MS
    // sooner on screen); while the map draws, changes wait and go out together when it is done.
    if (soonTimer !== null || !S.cfg || !S.synced || busy(S.cfg.ids.map)) return;
    soonTimer = setTimeout(function () {
      soonTimer = null;
      if (S.synced) flush();
    }, 0);
  }

  function watchMapIdle(gd) {
    // dcc.Graph drops its pending class when a draw is done: the next change goes out then.
    if (gd.__poskoIdle || !window.MutationObserver) return;
    gd.__poskoIdle = true;
    new MutationObserver(function () {
      if (!gd.classList.contains("dash-graph--pending") && (S.dirty.size || Q.map.codes.size)) soon();
    }).observe(gd, { attributes: true, attributeFilter: ["class"] });
  }

  function wantPanels() {
    // The commander's server-drawn panels: at once (at most every 2 s) when an incident or the
    // open TPS changed, and once a minute for what only time changes (ages, silences, the day).
    if (!S.cfg.panels_tick) return;
    var t = now();
    if (S.panelsWanted && t - S.panelsAt > PANELS_MIN_MS) {
      S.panelsAt = t;
      S.panelsWanted = false;
      setProps(S.cfg.panels_tick, { data: Math.round(t) });
    }
    if (t - S.minuteAt > PANELS_EVERY_MS) {
      S.minuteAt = t;
      setProps(S.cfg.minute_tick, { data: Math.round(t) });
    }
  }

  function tick() {
    if (!S.cfg) return;
    var gd = document.querySelector("#" + S.cfg.ids.map + " .js-plotly-plot");
    if (gd) watchMapIdle(gd);
    tendMap();
    if (S.synced) flush();
  }

  var MAP_ERROR_EVENTS = ["error", "style.error", "source.error", "tile.error", "layer.error"];
  var lastPlotted = 0;

  function mapInstance() {
    var gd = document.querySelector("#" + S.cfg.ids.map + " .js-plotly-plot");
    var sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
    return sub && sub.map ? sub.map : null;
  }

  function tendMap() {
    // Three repairs of plotly.js 4.1's map, kept here so they run on every map it creates.
    var map = mapInstance();
    if (!map) return;
    if (!map.__posko) {
      map.__posko = true;
      // 1. On every update plotly adds five one-time MapLibre error listeners that reject that
      //    update's promise. They are removed only when an error fires, so they pile up all day;
      //    and when one fires (a tile hiccup, a boundary fetch during a restart) dcc.Graph's
      //    update chain stays rejected and the map never changes again. Errors here are not
      //    fatal to the picture: do not let them reject anything.
      var once = map.once;
      map.once = function (type, fn) {
        if (MAP_ERROR_EVENTS.indexOf(type) >= 0 && typeof fn === "function") return this;
        return once.apply(this, arguments);
      };
      var listeners = map._oneTimeListeners || {};
      MAP_ERROR_EVENTS.forEach(function (type) {
        if (listeners[type]) listeners[type].length = 0;
      });
    }
    // 2. "white-bg" is the offline style: paint its one layer in the room's colour.
    var th = S.cfg.theme;
    try {
      if (map.getLayer(th.background_layer) && map.getPaintProperty(th.background_layer, "background-color") !== th.land) {
        map.setPaintProperty(th.background_layer, "background-color", th.land);
      }
    } catch (e) {
      /* style still loading: next time */
    }
  }

  function checkWedged() {
    // 3. Last resort: Dash holds a newer figure and the graph has not drawn anything for 30 s.
    var gd = document.querySelector("#" + S.cfg.ids.map + " .js-plotly-plot");
    var fig = figureOf(S.cfg.ids.map);
    if (!gd || !fig || !gd.data || !gd.on) return;
    if (!gd.__posko) {
      gd.__posko = true;
      gd.on("plotly_afterplot", function () {
        lastPlotted = now();
      });
      lastPlotted = now();
    }
    // Only while the server answers: a reload into a dead server would leave an error page.
    if (gd.data !== fig.data && now() - lastPlotted > 30000 && isLive()) {
      console.warn("posko: the map stopped following its figure; reloading the page");
      location.reload();
    }
  }

  function everySecond() {
    if (!S.cfg) return;
    if (S.synced && now() - S.officersAt > OFFICERS_EVERY_MS) refreshOfficers();
    if (!S.me && S.cfg.incidents && now() - S.meAt > ME_RETRY_MS) loadMe();
    if (S.cfg.ids.platform && now() - (S.platformAt || 0) > PLATFORM_EVERY_MS) loadPlatform();
    tendMap();
    checkWedged();
    fitAlerts();
    // Silence on an open (or hanging) socket: close it and start over.
    if (S.ws && now() - Math.max(S.lastFrame, S.connectAt) > LOST_AFTER_MS) drop("no heartbeat");
    if (S.synced) evaluateStale();
    if (isLive()) {
      if (S.lost) markLive();
    } else if (S.everSynced || now() > LOST_AFTER_MS) {
      markLost(); // also refreshes the banner's "last data" age
    }
    renderHeader();
  }

  // ---- the server's own health, beside the alerts --------------------------------------------
  //
  // So that "the field is silent" is never mistaken for "our server is stuck" (and back).

  function loadPlatform() {
    S.platformAt = now();
    fetch(S.cfg.urls.platform, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        return r.ok ? r.json() : null;
      })
      .then(renderPlatform, function () {
        renderPlatform(null);
      });
  }

  function renderPlatform(p) {
    var w = S.cfg.i18n.words;
    var state, text;
    if (!p) {
      state = "bad";
      text = w.platform_down;
    } else if (p.intake_stalled) {
      state = "bad";
      text = fmt(w.platform_stalled, { queue: p.queue_depth });
    } else {
      state = p.loop_lag_ms >= SLOW_LAG_MS || p.queue_depth >= SLOW_QUEUE ? "slow" : "ok";
      text = fmt(state === "ok" ? w.platform_ok : w.platform_slow, {
        queue: p.queue_depth,
        commit: p.last_commit_age_s === null ? w.platform_never : agoText(p.last_commit_age_s),
        lag: Math.round(p.loop_lag_ms),
      });
    }
    var key = state + "|" + text;
    if (shown.get("platform") === key) return;
    if (setProps(S.cfg.ids.platform, { className: "platform platform-" + state, children: text })) {
      shown.set("platform", key);
    }
  }

  // ---- operations: the exceptions feed, the incident list and their actions -----------------
  //
  // One path for every action: a fetch to the existing API with this browser's cookie. The API
  // already checks the role, compares versions and publishes the change; every open screen then
  // sees it in the next delta, this one included. The page only hides what the role cannot do.

  var ROLE_RANK = { viewer: 0, operator: 1, commander: 2, admin: 3 };
  var ALERT_RANK = { critical: 0, warning: 1 };
  var ME_RETRY_MS = 10000;

  function can(role) {
    var me = S.me;
    if (!me || me.kind === "kiosk" || !me.role || !S.cfg.incidents) return false;
    return ROLE_RANK[me.role] >= ROLE_RANK[role];
  }

  function loadMe() {
    S.meAt = now();
    fetch(S.cfg.urls.me, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        return r.ok ? r.json() : null;
      })
      .then(function (me) {
        if (!me) return;
        S.me = me;
        S.dirtyAlerts = true;
        S.dirtyList = true;
        // The server-drawn TPS panel carries its actions for everyone: show them to commanders.
        document.body.classList.toggle("can-commander", can("commander"));
        if (S.cfg.admin_link && me.role === "admin" && me.kind !== "kiosk") {
          setProps(S.cfg.admin_link, { className: "admin-link" });
        }
      })
      .catch(function () {
        /* no actions offered until the next try */
      });
  }

  function isSilenced(a) {
    if (!a.silenced_at) return false;
    return !a.silenced_until || ms(a.silenced_until) > serverNow();
  }

  function kecamatanName(code) {
    if (!S.kecNames || S.kecNamesFor !== S.tps) {
      S.kecNames = new Map();
      S.kecNamesFor = S.tps;
      S.tps.forEach(function (t) {
        S.kecNames.set(t.kecamatan_code, t.kecamatan);
      });
    }
    return S.kecNames.get(code) || "";
  }

  function officerText(nrp) {
    var name = S.officerNames.get(nrp);
    return "NRP " + nrp + (name ? " · " + name : "");
  }

  function subjectText(a) {
    var i18n = S.cfg.i18n;
    if (a.subject_kind === "tps") {
      var t = S.tps.get(a.subject);
      return a.subject + (t ? " · " + t.name + " " + t.desa + ", " + t.kecamatan : "");
    }
    if (a.subject_kind === "officer") return officerText(a.subject);
    if (a.subject_kind === "kecamatan") return "Kec. " + kecamatanName(a.subject) + " (" + a.subject + ")";
    if (a.subject_kind === "kabupaten") return "Kab. " + a.subject;
    if (a.subject_kind === "incident") {
      var inc = S.incidents.get(Number(a.subject)) || S.resolved.get(Number(a.subject));
      var tps = (inc && inc.tps) || (a.detail || {}).tps;
      var sev = (inc && inc.severity) || (a.detail || {}).severity;
      return (
        "#" + a.subject + (sev ? " " + fmt(i18n.words.sev, { n: sev }) : "") +
        (inc ? " " + i18n.categories[inc.category] : "") + (tps ? " · TPS " + tpsLabel(tps) : "")
      );
    }
    return i18n.words.system;
  }

  function heldText(c) {
    if (c.subject_kind === "tps") return tpsLabel(c.subject);
    if (c.subject_kind === "officer") return "NRP " + c.subject;
    return c.subject;
  }

  function alertOrder(a, b) {
    // Silenced last; then the loudest; then the newest.
    return (
      isSilenced(a) - isSilenced(b) ||
      ALERT_RANK[a.severity] - ALERT_RANK[b.severity] ||
      ms(b.raised_at) - ms(a.raised_at) ||
      b.id - a.id
    );
  }

  function button(act, kind, id, label) {
    return comp("Button", {
      className: "act act-" + act,
      "data-act": act,
      "data-kind": kind,
      "data-id": String(id),
      children: label,
    });
  }

  function tpsButton(act, code, phase, label) {
    return comp("Button", {
      className: "act act-" + act,
      "data-act": act,
      "data-kind": "tps",
      "data-id": code,
      "data-phase": phase,
      children: label,
    });
  }

  function chip(text, colour) {
    return comp("Span", { className: "chip", style: { "--chip": colour }, children: text });
  }

  function renderAlerts() {
    var id = S.cfg.ids.alerts;
    if (!id) return;
    S.alertsAt = now();
    var wall = !S.cfg.incidents;
    var w = S.cfg.i18n.words;
    var held = new Map(); // network outage id -> the alerts held under it
    var top = [];
    S.alerts.forEach(function (a) {
      if (a.parent_id && S.alerts.has(a.parent_id)) {
        if (!held.has(a.parent_id)) held.set(a.parent_id, []);
        held.get(a.parent_id).push(a);
      } else {
        top.push(a);
      }
    });
    // The wall shows what still needs someone; silenced alerts stay on the commander's list.
    if (wall) {
      top = top.filter(function (a) {
        return !isSilenced(a);
      });
    }
    top.sort(alertOrder);
    var limit = wall ? S.alertsFit || S.cfg.alerts_show : S.cfg.alerts_show;
    S.alertsTop = top.length;
    var rows = top.slice(0, limit).map(function (a) {
      return alertRow(a, held.get(a.id) || [], wall);
    });
    if (top.length > limit) {
      rows.push(comp("Div", { className: "alert-more", children: fmt(w.alerts_more, { n: top.length - limit }) }));
    }
    var sig = JSON.stringify(rows);
    if (shown.get("alerts") === sig) return;
    if (setProps(id, { children: rows.length ? rows : w.no_alerts })) shown.set("alerts", sig);
  }

  function fitAlerts() {
    // The wall never scrolls: show as many alerts as its panel holds (and "+n more" for the
    // rest), measured on the screen it runs on.
    var box = document.getElementById(S.cfg.ids.alerts);
    if (!box || S.cfg.incidents || !box.lastElementChild) return;
    var fit = S.alertsFit || S.cfg.alerts_show;
    var bottom = box.getBoundingClientRect().bottom;
    var rows = box.querySelectorAll(".alert");
    var last = box.lastElementChild.getBoundingClientRect();
    var next = fit;
    if (last.bottom > bottom + 1 && fit > 1) next = fit - 1;
    else if (rows.length === fit && S.alertsTop > fit) {
      var tall = rows[0].getBoundingClientRect().height;
      if (bottom - last.bottom > tall * 1.5) next = fit + 1;
    }
    if (next !== fit) {
      S.alertsFit = next;
      S.dirtyAlerts = true;
    }
  }

  function alertRow(a, under, wall) {
    var w = S.cfg.i18n.words;
    var at = ms(a.raised_at);
    var parts = [
      comp("Span", { className: "alert-kind", children: S.cfg.i18n.alert_kinds[a.kind] || a.kind }),
      comp("Span", {
        className: "alert-since",
        children: hhmm(at) + " " + w.wib + " · " + agoText((serverNow() - at) / 1000),
      }),
      comp("Div", { className: "alert-subject", children: subjectText(a) }),
    ];
    if (under.length) {
      under.sort(function (x, y) {
        return x.subject < y.subject ? -1 : 1;
      });
      var show = wall ? 4 : 30;
      var names = under.slice(0, show).map(heldText).join(", ") + (under.length > show ? ", …" : "");
      parts.push(
        comp("Div", {
          className: "alert-held",
          children: [comp("B", { children: fmt(w.alert_held, { n: under.length }) + ": " }), names],
        })
      );
    }
    var state = [];
    if (a.acknowledged_at) state.push(fmt(w.alert_acked, { who: a.acknowledged_by }));
    if (isSilenced(a)) {
      state.push(
        a.silenced_until
          ? fmt(w.alert_silenced, { who: a.silenced_by, until: hhmm(ms(a.silenced_until)) + " " + w.wib })
          : fmt(w.alert_silenced_clear, { who: a.silenced_by })
      );
    }
    if (state.length && !wall) parts.push(comp("Div", { className: "alert-state", children: state.join(" · ") }));
    if (!wall) {
      var acts = [];
      if (!a.acknowledged_at && can("operator")) acts.push(button("ack", "alert", a.id, w.a_ack));
      if (!isSilenced(a) && can("commander")) acts.push(button("silence", "alert", a.id, w.a_silence));
      if (a.kind === "phase_claim" && can("commander") && a.detail) {
        acts.push(tpsButton("confirm", a.subject, a.detail.claimed_phase, w.a_confirm));
      }
      if (acts.length) parts.push(comp("Div", { className: "actions", children: acts }));
    }
    var cls = "alert alert-" + a.severity + " kind-" + a.kind;
    if (a.acknowledged_at) cls += " acked";
    if (isSilenced(a)) cls += " silenced";
    return comp("Div", { className: cls, "data-alert": String(a.id), children: parts });
  }

  function assigneeText(who) {
    if (!who) return null;
    var i = who.indexOf(":");
    var kind = who.slice(0, i);
    var value = who.slice(i + 1);
    return kind === "officer" ? officerText(value) : value;
  }

  function renderIncidents() {
    var w = S.cfg.i18n.words;
    var open = Array.from(S.incidents.values()).sort(function (a, b) {
      return b.severity - a.severity || ms(b.opened_at) - ms(a.opened_at);
    });
    var done = Array.from(S.resolved.values()).sort(function (a, b) {
      return ms(b.updated_at) - ms(a.updated_at);
    });
    var children = [];
    if (open.length) children.push(comp("Ol", { className: "incident-list", children: open.map(incidentRow) }));
    else children.push(comp("P", { className: "empty", children: w.no_incidents }));
    if (done.length) {
      children.push(comp("H3", { className: "sub-title", children: w.resolved_waiting }));
      children.push(comp("Ol", { className: "incident-list resolved", children: done.map(incidentRow) }));
    }
    var sig = JSON.stringify(children);
    if (shown.get("incidents") === sig) return;
    if (setProps(S.cfg.incidents, { children: children })) shown.set("incidents", sig);
  }

  function incidentRow(inc) {
    var i18n = S.cfg.i18n;
    var w = i18n.words;
    var t = S.tps.get(inc.tps || "");
    var where = t ? inc.tps + " · " + t.desa + ", " + t.kecamatan : inc.tps || inc.kecamatan_code || "—";
    var opened = ms(inc.opened_at);
    var st = inc.status;
    var isOpen = OPEN.indexOf(st) >= 0;
    var acts = [];
    if (st === "baru" && can("operator")) acts.push(button("accept", "incident", inc.id, w.a_accept));
    if ((st === "diterima" || st === "ditangani") && can("commander")) {
      acts.push(button("dispatch", "incident", inc.id, w.a_dispatch));
    }
    if (st === "ditangani" && can("commander")) acts.push(button("resolve", "incident", inc.id, w.a_resolve));
    if (st === "selesai" && can("commander")) acts.push(button("close", "incident", inc.id, w.a_close));
    if (can("operator")) acts.push(button("note", "incident", inc.id, w.a_note));
    if (isOpen && can("commander") && S.incidents.size > 1) acts.push(button("merge", "incident", inc.id, w.a_merge));
    if (isOpen && can("commander") && inc.reports > 1) acts.push(button("split", "incident", inc.id, w.a_split));
    acts.push(button("history", "incident", inc.id, w.a_history));
    var parts = [
      comp("Div", {
        className: "incident-head",
        children: [
          chip(fmt(w.sev, { n: inc.severity }), S.cfg.theme.severity_colours[String(inc.severity)]),
          comp("B", { children: i18n.categories[inc.category] || inc.category }),
          comp("Span", { className: "status status-" + st, children: i18n.statuses[st] || st }),
          comp("Span", {
            className: "when",
            children: "#" + inc.id + " · " + hhmm(opened) + " " + w.wib + " · " + agoText((serverNow() - opened) / 1000),
          }),
        ],
      }),
      comp("Div", { className: "where", children: where }),
      comp("Div", { className: "note", children: inc.description }),
      comp("Div", {
        className: "who",
        children: fmt(w.reports, { n: inc.reports }) + ": NRP " + (inc.reported_by || []).join(", "),
      }),
    ];
    if (inc.assignee) {
      parts.push(comp("Div", { className: "assignee", children: fmt(w.assignee, { who: assigneeText(inc.assignee) }) }));
    }
    parts.push(comp("Div", { className: "actions", children: acts }));
    return comp("Li", {
      className: "incident sev-" + inc.severity + " st-" + st,
      "data-incident": String(inc.id),
      children: parts,
    });
  }

  // -- talking to the API

  function reasonOf(body, status) {
    var d = body && body.detail;
    if (d && d.reason) return d.reason;
    if (Array.isArray(d) && d.length) {
      return d
        .map(function (e) {
          // Name the field, as every refusal of the API does: "reason: String should have ...".
          var field = e.loc && e.loc.length ? e.loc[e.loc.length - 1] + ": " : "";
          return field + (e.msg || e.reason || JSON.stringify(e));
        })
        .join("; ");
    }
    if (typeof d === "string") return d;
    return "HTTP " + status;
  }

  function request(method, url, body) {
    var opts = { method: method, credentials: "same-origin", cache: "no-store", headers: {} };
    if (body !== undefined) {
      opts.headers["content-type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (r) {
      if (r.ok) return r.json();
      return r
        .json()
        .catch(function () {
          return null;
        })
        .then(function (b) {
          var err = new Error(reasonOf(b, r.status));
          err.status = r.status;
          throw err;
        });
    });
  }

  function toast(text, kind) {
    var el = document.getElementById("posko-toast");
    if (!el) {
      el = document.createElement("div");
      el.id = "posko-toast";
      el.setAttribute("role", "status");
      document.body.appendChild(el);
    }
    el.className = "toast toast-" + kind;
    el.textContent = text;
    clearTimeout(el._hide);
    el._hide = setTimeout(function () {
      el.className = "toast hidden";
    }, kind === "error" ? 12000 : 4000);
  }

  function refused(err) {
    toast(fmt(word("refused"), { reason: err.message }), "error");
  }

  function run(method, url, body) {
    return request(method, url, body).then(function () {
      toast(word("d_done"), "ok");
    }, refused);
  }

  function closeDialog() {
    var old = document.getElementById("posko-dialog");
    if (old) old.remove();
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function dialog(title, fields, submit) {
    // A plain DOM dialog outside Dash's tree: live redraws of the lists never touch what is typed.
    closeDialog();
    var w = S.cfg.i18n.words;
    var dlg = el("dialog", "posko-dialog");
    dlg.id = "posko-dialog";
    var form = el("form", "dialog-form");
    form.appendChild(el("h3", "dialog-title", title));
    fields.forEach(function (f) {
      if (f.type === "info") {
        var box = el("div", "dialog-info");
        if (f.label) box.appendChild(el("div", "dialog-label", f.label));
        var ol = el("ol", "dialog-lines");
        f.lines.forEach(function (line) {
          ol.appendChild(el("li", "", line));
        });
        box.appendChild(ol);
        form.appendChild(box);
        return;
      }
      var label = el("label", "dialog-field");
      label.appendChild(el("span", "dialog-label", f.label));
      var input;
      if (f.type === "select") {
        input = el("select");
        f.options.forEach(function (o) {
          var op = el("option", "", o.label);
          op.value = o.value;
          input.appendChild(op);
        });
      } else if (f.type === "textarea") {
        input = el("textarea");
        input.rows = 3;
      } else {
        input = el("input");
        input.type = "text";
      }
      input.name = f.name;
      label.appendChild(input);
      form.appendChild(label);
    });
    var err = el("div", "dialog-error");
    err.setAttribute("role", "alert");
    form.appendChild(err);
    var row = el("div", "dialog-buttons");
    if (submit) {
      var ok = el("button", "button dialog-ok", w.a_send);
      ok.type = "submit";
      row.appendChild(ok);
    }
    var cancel = el("button", "button dialog-cancel", w.a_cancel);
    cancel.type = "button";
    cancel.addEventListener("click", closeDialog);
    row.appendChild(cancel);
    form.appendChild(row);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var values = {};
      fields.forEach(function (f) {
        if (f.name) values[f.name] = form.elements[f.name].value.trim();
      });
      err.textContent = w.d_working;
      submit(values).then(
        function () {
          closeDialog();
          toast(w.d_done, "ok");
        },
        function (e) {
          err.textContent = fmt(w.refused, { reason: e.message });
        }
      );
    });
    dlg.appendChild(form);
    document.body.appendChild(dlg);
    dlg.showModal();
    var first = form.querySelector("input, textarea, select");
    if (first) first.focus();
  }

  function withNote(body, note) {
    if (note) body.note = note;
    return body;
  }

  function actOnAlert(action, id) {
    var w = S.cfg.i18n.words;
    var url = S.cfg.urls.alert + id + "/";
    if (action === "ack") return run("POST", url + "acknowledge", {});
    var options = [15, 30, 60, 120, 240].map(function (m) {
      return { value: String(m), label: agoMinutes(m) };
    });
    options.push({ value: "", label: w.d_until_clear });
    dialog(w.a_silence + " · " + subjectText(S.alerts.get(id) || { subject_kind: "system" }), [
      { name: "minutes", label: w.d_minutes, type: "select", options: options },
    ], function (v) {
      return request("POST", url + "silence", { minutes: v.minutes ? Number(v.minutes) : null });
    });
  }

  function agoMinutes(m) {
    // "30 mnt" / "2 jam": the ago words without "ago".
    return m < 60 ? m + (S.cfg.lang === "en" ? " min" : " mnt") : m / 60 + (S.cfg.lang === "en" ? " h" : " jam");
  }

  function incidentTitle(inc) {
    var i18n = S.cfg.i18n;
    return (
      "#" + inc.id + " " + fmt(i18n.words.sev, { n: inc.severity }) + " " + i18n.categories[inc.category] +
      " · " + (inc.tps ? tpsLabel(inc.tps) : inc.kecamatan_code || "—")
    );
  }

  function stepText(s) {
    var i18n = S.cfg.i18n;
    var what = s.kind;
    if (s.kind === "status") what = (i18n.statuses[s.from_status] || "") + " → " + (i18n.statuses[s.to_status] || "");
    else if (s.kind === "dispatch") what = i18n.words.a_dispatch + " → " + assigneeText(s.data.assignee || "");
    else if (s.kind === "note") what = i18n.words.a_note;
    else if (s.kind === "merge") {
      what = i18n.words.a_merge + (s.data.into ? " → #" + s.data.into : " ← #" + (s.data.merged || []).join(", #"));
    } else if (s.kind === "split") {
      what = i18n.words.a_split + " #" + s.data.report_id + (s.data.to ? " → #" + s.data.to : " ← #" + s.data.from);
    }
    return hhmmss(ms(s.at)) + " " + i18n.words.wib + " · " + s.actor + " · " + what + (s.note ? " — " + s.note : "");
  }

  function reportText(r) {
    return (
      "NRP " + r.officer + " · " + hhmm(ms(r.device_time)) + " " + word("wib") + " · " +
      fmt(word("sev"), { n: r.severity }) + " · " + (r.description || "").slice(0, 80)
    );
  }

  function actOnIncident(action, id) {
    var w = S.cfg.i18n.words;
    var inc = S.incidents.get(id) || S.resolved.get(id);
    if (!inc) return;
    var url = S.cfg.urls.incident + id;
    var title = w["a_" + action] + " · " + incidentTitle(inc);
    if (action === "accept" || action === "resolve" || action === "close") {
      return run("POST", url + "/" + action, { version: inc.version });
    }
    if (action === "dispatch") {
      return dialog(title, [
        { name: "officer", label: w.d_officer },
        { name: "unit", label: w.d_unit },
        { name: "note", label: w.d_note, type: "textarea" },
      ], function (v) {
        var body = withNote({ version: inc.version }, v.note);
        if (v.officer) body.officer = v.officer;
        if (v.unit) body.unit = v.unit;
        return request("POST", url + "/dispatch", body);
      });
    }
    if (action === "note") {
      return dialog(title, [{ name: "text", label: w.d_text, type: "textarea" }], function (v) {
        return request("POST", url + "/notes", { text: v.text });
      });
    }
    if (action === "merge") {
      var others = Array.from(S.incidents.values()).filter(function (o) {
        return o.id !== id;
      });
      return dialog(title, [
        {
          name: "into",
          label: w.d_merge_into,
          type: "select",
          options: others.map(function (o) {
            return { value: String(o.id), label: incidentTitle(o) };
          }),
        },
        { name: "note", label: w.d_note, type: "textarea" },
      ], function (v) {
        var into = S.incidents.get(Number(v.into));
        if (!into) return Promise.reject(new Error("#" + v.into + "?"));
        return request("POST", S.cfg.urls.incident + into.id + "/merge", withNote({ version: into.version, others: [id] }, v.note));
      });
    }
    // split and history need the incident's reports and steps
    request("GET", url).then(function (detail) {
      if (action === "split") {
        dialog(title, [
          {
            name: "report",
            label: w.d_split_report,
            type: "select",
            options: detail.report_list.map(function (r) {
              return { value: String(r.id), label: reportText(r) };
            }),
          },
          { name: "note", label: w.d_note, type: "textarea" },
        ], function (v) {
          return request("POST", url + "/split", withNote({ version: detail.version, report_id: Number(v.report) }, v.note));
        });
      } else {
        dialog(title, [
          { type: "info", label: w.d_reports, lines: detail.report_list.map(reportText) },
          { type: "info", label: w.d_steps, lines: detail.steps.map(stepText) },
        ], null);
      }
    }, refused);
  }

  function actOnTps(action, code, phase) {
    // A commander's hand on a TPS: confirm the phase an unassigned officer claimed (the claim
    // as shown: the API answers 409 if it changed), or correct phase and situation with a reason.
    var i18n = S.cfg.i18n;
    var w = i18n.words;
    var url = S.cfg.urls.tps + encodeURIComponent(code) + "/";
    if (action === "confirm") return run("POST", url + "confirm-phase", { phase: phase });
    var t = S.tps.get(code);
    var option = function (names, k) {
      return { value: k, label: names[k] };
    };
    var phases = Object.keys(i18n.phases).filter(function (k) {
      return k !== "belum";
    });
    if (t && t.phase) {
      phases.sort(function (a, b) {
        return (b === t.phase) - (a === t.phase); // the current phase first
      });
    }
    var situations = Object.keys(i18n.situations).filter(function (k) {
      return k !== "belum";
    });
    dialog(w.a_correct + " · " + tpsLabel(code), [
      { name: "phase", label: w.d_phase, type: "select", options: phases.map(option.bind(null, i18n.phases)) },
      {
        name: "situation",
        label: w.d_situation,
        type: "select",
        options: [{ value: "", label: w.d_unchanged }].concat(situations.map(option.bind(null, i18n.situations))),
      },
      { name: "reason", label: w.d_reason, type: "textarea" },
    ], function (v) {
      var body = { phase: v.phase, reason: v.reason };
      if (v.situation) body.situation = v.situation;
      return request("POST", url + "correction", body);
    });
  }

  function onClick(ev) {
    var target = ev.target && ev.target.closest ? ev.target.closest("[data-act]") : null;
    if (!target || !S.cfg) return;
    ev.preventDefault();
    var act = target.getAttribute("data-act");
    var kind = target.getAttribute("data-kind");
    if (kind === "tps") return actOnTps(act, target.getAttribute("data-id"), target.getAttribute("data-phase"));
    var id = Number(target.getAttribute("data-id"));
    if (kind === "alert") actOnAlert(act, id);
    else actOnIncident(act, id);
  }


  // ---- the page hands over ------------------------------------------------------------------

  function configure(cfg) {
    var first = !S.cfg;
    S.cfg = cfg;
    S.grace = S.grace && Object.keys(S.grace).length ? S.grace : cfg.grace;
    if (S.speed === 1 && cfg.clock_speed) S.speed = cfg.clock_speed;
    M = null;
    T = null;
    P = null;
    shown.clear();
    S.dirtyAll = true;
    S.dirtyIncidents = true;
    S.dirtyLog = true;
    S.dirtyAlerts = true;
    S.dirtyList = true;
    if (first) {
      start();
      loadMe();
    }
    else if (S.synced) flush();
    renderBanner();
  }

  function setOfficers(rows) {
    var next = new Map();
    rows.forEach(function (r) {
      var prev = S.officers.get(r[0]);
      var seen = r[1] ? Date.parse(r[1]) : null;
      if (r[2]) S.officerNames.set(r[0], r[2]);
      if (prev && (seen === null || prev > seen)) seen = prev;
      next.set(r[0], seen);
    });
    S.officers = next;
    noteOfficersFromTps();
  }

  function refreshOfficers() {
    // The stream carries TPS states, not officers: every few minutes, re-read who reported when
    // (a ping about a TPS that already had newer news still counts as the officer's report).
    S.officersAt = now();
    fetch(S.cfg.urls.officers, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        return r.ok ? r.json() : null;
      })
      .then(function (body) {
        if (!body) return;
        setOfficers(
          body.data.map(function (o) {
            return [o.nrp, o.last_seen_at, o.rank + " " + o.name];
          })
        );
      })
      .catch(function () {
        /* the next round, or the next resync, tries again */
      });
  }

  function select(code) {
    S.selected = code;
  }

  function start() {
    if (started) return;
    started = true;
    connect();
    setInterval(tick, TICK_MS);
    setInterval(everySecond, SECOND_MS);
    document.addEventListener("click", onClick);
    window.addEventListener("resize", function () {
      M = null; // refit the map and rescale markers to the new size
      S.dirtyAll = true;
    });
  }

  window.poskoLive = {
    configure: configure,
    setOfficers: setOfficers,
    select: select,
    lastDeltaAt: null,
    stats: S.stats,
    get seq() {
      return S.seq;
    },
    get live() {
      return isLive();
    },
    get lost() {
      return S.lost;
    },
    serverNow: serverNow,
    appliedAt: function (code) {
      return S.applied.get(code) || null;
    },
    appliedVersion: function (code) {
      return S.appliedVersion.get(code) || null;
    },
    state: function (code) {
      var t = S.tps.get(code);
      return t ? JSON.parse(JSON.stringify(t)) : null;
    },
    staleCount: function () {
      return S.stale.size;
    },
    alertCount: function () {
      return S.alerts.size;
    },
    alertIds: function (kind, subject) {
      var out = [];
      S.alerts.forEach(function (al) {
        if (al.kind === kind && al.subject === subject) out.push(al.id);
      });
      return out;
    },
    incident: function (id) {
      var i = S.incidents.get(id) || S.resolved.get(id);
      return i ? JSON.parse(JSON.stringify(i)) : null;
    },
    get me() {
      return S.me;
    },
    logSize: function () {
      return S.log.length;
    },
  };
})();
