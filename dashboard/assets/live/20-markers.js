/*
 * Posko live client · markers: how a TPS looks on the map and the timeline. Pure functions.
 *
 * The same rules as dashboard/figures.py (grace_of, is_stale, effective_situation, marker_state,
 * marker_style, hover_text); tests/dashboard/test_marker_rules.py runs both on one table of
 * cases and fails when they disagree. Colours and sizes come from dashboard/theme.py through
 * the page's config (cfg.theme), never from here.
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
})(typeof self !== "undefined" ? self : this, "markers", ["10-text"], function (text) {
  "use strict";

  // Seconds this TPS may go unseen in its current phase (null: not watched now).
  function graceOf(t, grace) {
    if (!t.phase) return null;
    var row = grace[t.risk] || {};
    var g = row[t.phase];
    return g === undefined ? null : g;
  }

  function isStale(t, at, grace) {
    var g = graceOf(t, grace);
    if (g === null || !t.last_seen_ms) return false;
    return (at - t.last_seen_ms) / 1000 > g;
  }

  // Worse is later: an open incident can raise a TPS's shown situation, never lower it.
  var SITUATION_RANK = { aman: 1, waspada: 2, gangguan: 3 };

  function effectiveSituation(t) {
    // The worse of what officers report and what open incidents raise the TPS to.
    var pinged = t.situation || null;
    var raised = t.incident_situation || null;
    return (SITUATION_RANK[raised] || 0) > (SITUATION_RANK[pinged] || 0) ? raised : pinged;
  }

  // What the map shows: not seen within grace (as last judged), else the effective situation.
  function markerState(t, stale) {
    if (stale) return "stale";
    return effectiveSituation(t) || "belum";
  }

  // [colour, size] of a TPS marker; not seen wins in both colourings. `k` scales sizes up.
  function markerStyle(t, state, mode, theme, k) {
    if (mode === "phase" && state !== "stale") {
      return [theme.phase_colours[t.phase || "belum"], theme.phase_size * k];
    }
    return [theme.situation_colours[state], theme.situation_sizes[state] * k];
  }

  function hoverText(t, state, at, i18n) {
    var w = i18n.words;
    var situation = i18n.situations[effectiveSituation(t) || "belum"];
    if (state === "stale") situation += " · <b>" + i18n.situations.stale + "</b>";
    var seen;
    if (!t.last_seen_ms) {
      seen = w.h_never;
    } else {
      seen = text.hhmm(t.last_seen_ms) + " " + w.wib + " (" + text.agoText((at - t.last_seen_ms) / 1000, w) + ")";
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

  // The timeline's problem mark for a TPS now: 3 not seen, 2 gangguan, 1 waspada, 0 none
  // (the index of its trace in figures.timeline_figure).
  function problemOf(t, stale) {
    if (stale) return 3;
    if (t.situation === "gangguan") return 2;
    if (t.situation === "waspada") return 1;
    return 0;
  }

  // The heatmap value of a TPS's phase (figures.PHASE_INDEX).
  function phaseIndex(t, theme) {
    return theme.phase_keys.indexOf(t.phase || "belum");
  }

  return {
    graceOf: graceOf,
    isStale: isStale,
    effectiveSituation: effectiveSituation,
    markerState: markerState,
    markerStyle: markerStyle,
    hoverText: hoverText,
    problemOf: problemOf,
    phaseIndex: phaseIndex,
  };
});
