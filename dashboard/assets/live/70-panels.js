/*
 * Posko live client · panels: the text around the figures. Counters, the header (clock, date,
 * "live"), the lost/denied banner, the event log and the server's own health line.
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
})(typeof self !== "undefined" ? self : this, "panels", ["10-text", "20-markers", "50-dash"], function (
  text,
  markers,
  dash
) {
  "use strict";

  var PLATFORM_EVERY_MS = 5000; // the server's own health, re-read from /api/v1/platform
  // "Slow" from here: a loop late by a quarter second delays every field ack by as much, and a
  // thousand reports waiting means the disk is not keeping up.
  var SLOW_LAG_MS = 250;
  var SLOW_QUEUE = 1000;
  var fmt = text.fmt;
  var comp = dash.comp;

  /** `o.store`, `o.bridge`, `o.cfg()`, `o.connection()` (40-connection.js), `o.now()`. */
  function createPanels(o) {
    var store = o.store;
    var bridge = o.bridge;
    var platformAt = null;

    function cfg() {
      return o.cfg();
    }

    function word(key) {
      return cfg().i18n.words[key];
    }

    function ago(seconds) {
      return text.agoText(seconds, cfg().i18n.words);
    }

    function counterId(key) {
      return { type: cfg().counter_type, view: cfg().view, key: key };
    }

    function setPhaseCount(key, value) {
      // A whole kabupaten in one phase is four digits: narrower figures so they fit the tile.
      var size = value.length >= 5 ? " digits-5" : value.length === 4 ? " digits-4" : "";
      bridge.setOnce(counterId(key), "c:" + key, value, { children: value, className: "phase-value" + size });
    }

    function renderCounters() {
      var keys = cfg().theme.phase_keys;
      var phases = {};
      keys.forEach(function (k) {
        phases[k] = 0;
      });
      var waspada = 0;
      var gangguan = 0;
      store.tps.forEach(function (t) {
        phases[t.phase || "belum"] += 1;
        var sit = markers.effectiveSituation(t);
        if (sit === "waspada") waspada += 1;
        if (sit === "gangguan") gangguan += 1;
      });
      keys.forEach(function (k) {
        setPhaseCount(k, String(phases[k]));
      });
      bridge.setText(counterId("tps"), "c:tps", String(store.tps.size));
      bridge.setText(counterId("waspada"), "c:waspada", String(waspada));
      bridge.setText(counterId("gangguan"), "c:gangguan", String(gangguan));
      bridge.setText(counterId("stale"), "c:stale", String(store.stale.size));
      var sev = {};
      var levels = Object.keys(cfg().theme.severity_colours);
      levels.forEach(function (n) {
        sev[n] = 0;
      });
      store.incidents.forEach(function (i) {
        sev[String(i.severity)] = (sev[String(i.severity)] || 0) + 1;
      });
      bridge.setText(counterId("incidents"), "c:incidents", String(store.incidents.size));
      levels.forEach(function (n) {
        bridge.setText(counterId("sev" + n), "c:sev" + n, String(sev[n]));
      });
      var at = store.serverNow();
      var limit = cfg().silent_after_s * 1000;
      var silent = 0;
      store.officers.forEach(function (seen) {
        if (seen === null || at - seen > limit) silent += 1;
      });
      if (store.officers.size) {
        bridge.setText(counterId("silent"), "c:silent", String(silent));
        bridge.setText(counterId("silent_sub"), "c:silent_sub", fmt(word("c_silent_sub"), { n: store.officers.size }));
      }
    }

    function logText(e) {
      var i18n = cfg().i18n;
      var w = i18n.words;
      if (e.kind === "phase") {
        return fmt(w.log_phase, {
          tps: store.tpsLabel(e.tps),
          before: i18n.phases[e.before || "belum"],
          after: i18n.phases[e.after],
        });
      }
      if (e.kind === "situation") {
        return fmt(w.log_situation, {
          tps: store.tpsLabel(e.tps),
          before: i18n.situations[e.before || "belum"],
          after: i18n.situations[e.after],
        });
      }
      if (e.kind === "incident") {
        return fmt(w.log_incident, {
          severity: e.severity,
          category: i18n.categories[e.after] || e.after,
          tps: store.tpsLabel(e.tps),
        });
      }
      return fmt(w.log_silence, { tps: store.tpsLabel(e.tps), grace: e.after });
    }

    function logClass(e) {
      if (e.kind === "incident") return "log-row log-incident sev-" + e.severity;
      if (e.kind === "silence") return "log-row log-silence";
      if (e.kind === "situation") return "log-row log-situation to-" + e.after;
      return "log-row log-phase";
    }

    function renderLog() {
      var rows = store.log.slice(0, cfg().log_show).map(function (e) {
        return comp("Div", {
          className: logClass(e),
          children: [
            comp("Span", { className: "log-time", children: text.hhmm(text.ms(e.at)) }),
            comp("Span", { className: "log-text", children: logText(e) }),
            comp("Span", { className: "log-who", children: e.officer ? fmt(word("log_by"), { nrp: e.officer }) : "" }),
          ],
        });
      });
      if (!rows.length) rows = word("log_empty");
      bridge.setProps(cfg().ids.log, { children: rows });
    }

    function renderHeader() {
      var conn = o.connection();
      var at = store.serverNow();
      var ids = cfg().ids;
      bridge.setText(ids.clock, "clock", text.hhmmss(at) + " " + word("wib"));
      bridge.setText(ids.date, "date", text.dateText(at, cfg().i18n));
      if (cfg().exercise) {
        var label = fmt(word("exercise"), { label: cfg().exercise });
        bridge.setOnce(ids.exercise, "exercise", label, { children: label, className: "exercise" });
      }
      var cls, line;
      if (conn.state === "replay") {
        // A past moment (85-replay.js): say so where "live" would be.
        cls = "freshness replay";
        line = fmt(word("replay_mode"), { at: text.hhmmss(store.lastDataAt || at) });
      } else if (conn.isLive()) {
        cls = "freshness live";
        line = "● " + word("live") + " · " + fmt(word("data_age"), { age: ago((o.now() - conn.lastFrame) / 1000) });
      } else if (!conn.everLive) {
        cls = "freshness connecting";
        line = word("connecting");
      } else {
        cls = "freshness lost";
        line = "■ " + fmt(word("data_age"), { age: ago((store.serverNow() - (store.lastDataAt || store.serverNow())) / 1000) });
      }
      bridge.setOnce(ids.freshness, "fresh", cls + line, { className: cls, children: line });
    }

    // The banner and the page's lost look follow the connection: lost, denied, ended, or nothing.
    function renderBanner() {
      var kind = o.connection().banner();
      document.body.classList.toggle("posko-lost", kind !== "");
      var id = cfg().ids.banner;
      if (!kind) {
        bridge.setOnce(id, "banner", "", { className: "banner hidden", children: "" });
        return;
      }
      var line;
      if (kind === "ended") {
        line = word("ended_banner");
      } else if (kind === "denied") {
        line = word("denied_banner");
      } else {
        var age = store.lastDataAt === null ? "—" : ago((store.serverNow() - store.lastDataAt) / 1000);
        line = fmt(word("lost_banner"), { age: age });
      }
      bridge.setOnce(id, "banner", line, { className: "banner", children: line });
    }

    // ---- the server's own health, beside the alerts --------------------------------------------
    //
    // So that "the field is silent" is never mistaken for "our server is stuck" (and back).

    function pollPlatform() {
      if (!cfg().ids.platform || o.now() - (platformAt || 0) <= PLATFORM_EVERY_MS) return;
      platformAt = o.now();
      fetch(cfg().urls.platform, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) {
          return r.ok ? r.json() : null;
        })
        .then(renderPlatform, function () {
          renderPlatform(null);
        });
    }

    function renderPlatform(p) {
      var w = cfg().i18n.words;
      var state, line;
      if (!p) {
        state = "bad";
        line = w.platform_down;
      } else if (p.intake_stalled) {
        state = "bad";
        line = fmt(w.platform_stalled, { queue: p.queue_depth });
      } else {
        state = p.loop_lag_ms >= SLOW_LAG_MS || p.queue_depth >= SLOW_QUEUE ? "slow" : "ok";
        line = fmt(state === "ok" ? w.platform_ok : w.platform_slow, {
          queue: p.queue_depth,
          commit: p.last_commit_age_s === null ? w.platform_never : ago(p.last_commit_age_s),
          lag: Math.round(p.loop_lag_ms),
        });
      }
      bridge.setOnce(cfg().ids.platform, "platform", state + "|" + line, {
        className: "platform platform-" + state,
        children: line,
      });
    }

    return {
      renderCounters: renderCounters,
      renderLog: renderLog,
      renderHeader: renderHeader,
      renderBanner: renderBanner,
      pollPlatform: pollPlatform,
    };
  }

  return { createPanels: createPanels };
});
