/*
 * Posko live client · store: the browser's copy of the picture, and how frames merge into it.
 *
 * A snapshot replaces everything; a delta applies only when its seq follows the last one (a gap
 * answers false: the caller reloads), and a TPS state only when its version is newer. What
 * changed is marked in `changed` for the screen to draw. Staleness ("not seen within grace") is
 * judged against the SERVER's clock: frames carry `at`, the snapshot `clock_speed`.
 * No DOM, no timers: `now` (a monotonic clock in ms) is given, so Node tests drive it.
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
})(typeof self !== "undefined" ? self : this, "store", ["10-text", "20-markers"], function (text, markers) {
  "use strict";

  var LOG_KEEP = 60;
  var OPEN = ["baru", "diterima", "ditangani"];
  var ms = text.ms;

  function logKey(e) {
    return [e.kind, e.tps, e.at, e.after, e.incident_id].join("|");
  }

  function keepTps(v) {
    v.last_seen_ms = ms(v.last_seen_at);
    return v;
  }

  /**
   * A new, empty picture. `opts.now()`: monotonic ms (performance.now in the browser);
   * `opts.stats`: counters shared with the page (this adds `deltas`).
   */
  function createStore(opts) {
    var now = opts.now;
    var stats = opts.stats || {};
    var s = {
      tps: new Map(), // code -> TpsView (static facts and current state)
      incidents: new Map(), // id -> open IncidentPublic
      resolved: new Map(), // id -> IncidentPublic resolved (selesai), waiting to be closed
      alerts: new Map(), // id -> open AlertPublic
      officers: new Map(), // NRP -> last seen (ms since epoch) or null
      officerNames: new Map(), // NRP -> "rank name"
      stale: new Set(), // codes not seen within grace (as last evaluated)
      staleReady: false, // first evaluation after a snapshot logs nothing
      log: [], // LogEntry, newest first
      seq: null,
      channel: null,
      speed: 1,
      grace: {},
      clockAt: null, // server clock (ms) at clockPerf
      clockPerf: 0,
      lastDataAt: null, // server time of the last frame (for "data 3 s ago")
      lastDeltaAt: null, // now() when the last delta was applied
      selected: null, // the TPS the commander has open: its changes redraw the side panel
      // What the screen still has to draw; whoever draws clears what it drew.
      changed: {
        codes: new Set(), // TPS whose marker may look different
        all: true, // every marker
        incidents: true, // the incident rings on the map
        log: true,
        alerts: true,
        list: true, // the commander's incident list
        panels: false, // the commander's server-drawn side panels
      },
    };

    s.serverNow = function () {
      if (s.clockAt === null) return Date.now();
      return s.clockAt + (now() - s.clockPerf) * s.speed;
    };

    s.setClock = function (iso) {
      var at = Date.parse(iso);
      if (!isNaN(at)) {
        s.clockAt = at;
        s.clockPerf = now();
        s.lastDataAt = at;
      }
    };

    // The page's config: the grace table and clock speed until a snapshot brings its own.
    s.configure = function (cfg) {
      s.grace = s.grace && Object.keys(s.grace).length ? s.grace : cfg.grace;
      if (s.speed === 1 && cfg.clock_speed) s.speed = cfg.clock_speed;
      s.markAll();
    };

    s.markAll = function () {
      var c = s.changed;
      c.all = c.incidents = c.log = c.alerts = c.list = true;
    };

    s.applySnapshot = function (snap) {
      var tps = new Map();
      snap.tps.forEach(function (v) {
        tps.set(v.code, keepTps(v));
      });
      s.tps = tps;
      s.incidents = new Map();
      snap.incidents.forEach(function (i) {
        s.incidents.set(i.id, i);
      });
      s.alerts = new Map();
      (snap.alerts || []).forEach(function (a) {
        s.alerts.set(a.id, a);
      });
      s.seq = snap.seq;
      s.channel = snap.channel;
      s.speed = snap.clock_speed || 1;
      s.grace = snap.grace_s || {};
      if (s.clockAt === null) s.setClock(snap.taken_at);
      noteOfficersFromTps();
      s.markAll();
    };

    /**
     * A reload's reads, in the order they were taken: the snapshot, the log (GET /api/v1/log)
     * and, on the commander's view, the incident list (for the resolved ones).
     */
    s.load = function (reads, opts) {
      // A replayed moment (85-replay.js) is a picture of its own: nothing judged at another
      // moment carries over to it.
      if (opts && opts.fresh) s.forgetJudged();
      s.applySnapshot(reads.snapshot);
      s.resolved = new Map();
      (reads.incidents ? reads.incidents.data : []).forEach(function (inc) {
        if (inc.status === "selesai") s.resolved.set(inc.id, inc);
      });
      // Silences are judged here and not stored by the server: keep the ones we saw.
      var silences = s.log.filter(function (e) {
        return e.kind === "silence";
      });
      s.log = [];
      addLog(reads.log.concat(silences));
    };

    /** Drop what this browser judged itself (silences, who is stale): it belonged to one moment. */
    s.forgetJudged = function () {
      s.log = s.log.filter(function (e) {
        return e.kind !== "silence";
      });
      s.stale = new Set();
      s.staleReady = false;
      s.changed.log = true;
    };

    /** Apply one delta; false when it does not follow the last seq (the picture has a hole). */
    s.applyDelta = function (d) {
      if (s.seq !== null && d.seq <= s.seq) return true; // already in the snapshot
      if (s.seq !== null && d.seq !== s.seq + 1) return false; // a gap: resync
      s.seq = d.seq;
      s.setClock(d.at);
      stats.deltas = (stats.deltas || 0) + 1;
      (d.tps || []).forEach(function (st) {
        var cur = s.tps.get(st.code);
        if (!cur || st.version < cur.version) return; // unknown or older than what we show
        if (st.version === cur.version) {
          // Same report, new incident situation (an incident opened, was handled or closed):
          // only that field moves; the rest of this state is what we already show.
          if (!("incident_situation" in st) || st.incident_situation === cur.incident_situation) return;
          cur.incident_situation = st.incident_situation;
          s.changed.codes.add(st.code);
          return;
        }
        Object.keys(st).forEach(function (k) {
          cur[k] = st[k];
        });
        keepTps(cur);
        noteOfficer(cur.last_officer, cur.last_seen_ms);
        s.changed.codes.add(st.code);
        if (st.code === s.selected) s.changed.panels = true;
      });
      (d.incidents || []).forEach(function (inc) {
        noteIncident(inc);
        (inc.reported_by || []).forEach(function (nrp) {
          noteOfficer(nrp, ms(inc.updated_at));
        });
        s.changed.incidents = true;
        s.changed.panels = true;
      });
      (d.alerts || []).forEach(noteAlert);
      if (d.log && d.log.length) {
        addLog(d.log);
      }
      s.lastDeltaAt = now();
      return true;
    };

    function noteIncident(inc) {
      // Open ones are on the map and counted; resolved ones wait in the commander's list for
      // closing; closed (or merged away) ones leave. A copy older than the one held is ignored.
      var held = s.incidents.get(inc.id) || s.resolved.get(inc.id);
      if (held && (held.version || 0) > (inc.version || 0)) return;
      if (held && held.version === inc.version && (held.photos || 0) > (inc.photos || 0)) {
        // A stored photo publishes its incident without a new version: a copy read before it
        // (an intake delta) may arrive after it. Photos only leave with a report (a split: a
        // new version), so within one version the larger count is the newer.
        inc.photos = held.photos;
      }
      s.incidents.delete(inc.id);
      s.resolved.delete(inc.id);
      if (OPEN.indexOf(inc.status) >= 0) s.incidents.set(inc.id, inc);
      else if (inc.status === "selesai") s.resolved.set(inc.id, inc);
      s.changed.list = true;
      s.changed.alerts = true; // alerts about incidents name them
    }

    function noteAlert(a) {
      var held = s.alerts.get(a.id);
      if (held && held.version > a.version) return;
      if (a.cleared_at) s.alerts.delete(a.id);
      else s.alerts.set(a.id, a);
      s.changed.alerts = true;
    }

    function addLog(entries) {
      // The log read and the deltas around it overlap: keep each entry once.
      var seen = new Set(s.log.map(logKey));
      var fresh = entries.filter(function (e) {
        var k = logKey(e);
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
      if (!fresh.length) return;
      s.log = fresh.concat(s.log);
      s.log.sort(function (a, b) {
        return ms(b.at) - ms(a.at);
      });
      if (s.log.length > LOG_KEEP) s.log.length = LOG_KEEP;
      s.changed.log = true;
    }

    function noteOfficer(nrp, at) {
      if (!nrp || !at) return;
      var cur = s.officers.get(nrp);
      if (cur === undefined) return; // not in this area
      if (cur === null || at > cur) s.officers.set(nrp, at);
    }

    function noteOfficersFromTps() {
      s.tps.forEach(function (t) {
        noteOfficer(t.last_officer, t.last_seen_ms);
      });
    }

    /** How people name a TPS in a sentence: "desa TPS name", or its code when unknown. */
    s.tpsLabel = function (code) {
      var t = s.tps.get(code);
      return t ? t.desa + " " + t.name : code || "—";
    };

    /** Officers of this area as the server drew them: [NRP, last seen ISO or null, name]. */
    s.setOfficers = function (rows) {
      var next = new Map();
      rows.forEach(function (r) {
        var prev = s.officers.get(r[0]);
        var seen = r[1] ? Date.parse(r[1]) : null;
        if (r[2]) s.officerNames.set(r[0], r[2]);
        if (prev && (seen === null || prev > seen)) seen = prev;
        next.set(r[0], seen);
      });
      s.officers = next;
      noteOfficersFromTps();
    };

    /** Judge every TPS against its grace now; a TPS newly not seen gets a "silence" log line. */
    s.evaluateStale = function () {
      var at = s.serverNow();
      var silences = [];
      s.tps.forEach(function (t) {
        var stale = markers.isStale(t, at, s.grace);
        if (stale === s.stale.has(t.code)) return;
        if (stale) {
          s.stale.add(t.code);
          if (s.staleReady) {
            var grace = markers.graceOf(t, s.grace);
            silences.push({
              at: new Date(t.last_seen_ms + grace * 1000).toISOString(),
              kind: "silence",
              tps: t.code,
              officer: t.last_officer,
              after: String(Math.round(grace / 60)),
            });
          }
        } else {
          s.stale.delete(t.code);
        }
        s.changed.codes.add(t.code);
      });
      s.staleReady = true;
      if (silences.length) addLog(silences);
    };

    return s;
  }

  return { createStore: createStore, OPEN: OPEN };
});
