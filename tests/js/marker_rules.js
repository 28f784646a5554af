// How the live client draws a table of TPS, for tests/dashboard/test_marker_rules.py: reads
// {theme, i18n: {lang: words}, grace, now, tps: [TpsView]} on stdin and writes, per TPS code,
// what the browser would show: its state, its marker in both colourings, its hover text in
// each language. The TPS go through the store as a snapshot, as in the browser.
"use strict";

const { live } = require("./fakes.js");

const { createStore } = live("30-store");
const markers = live("20-markers");

function main(input) {
  const store = createStore({ now: () => 0 });
  store.applySnapshot({ seq: 0, channel: "nat", taken_at: input.now, clock_speed: 1, grace_s: input.grace, tps: input.tps, incidents: [] });
  store.evaluateStale();
  const at = store.serverNow();
  const out = {};
  store.tps.forEach((t, code) => {
    const state = markers.markerState(t, store.stale.has(code));
    const hover = {};
    for (const lang of Object.keys(input.i18n)) hover[lang] = markers.hoverText(t, state, at, input.i18n[lang]);
    out[code] = {
      stale: store.stale.has(code),
      effective: markers.effectiveSituation(t),
      state,
      situation: markers.markerStyle(t, state, "situation", input.theme, 1),
      phase: markers.markerStyle(t, state, "phase", input.theme, 1),
      hover,
    };
  });
  return out;
}

let text = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (text += chunk));
process.stdin.on("end", () => process.stdout.write(JSON.stringify(main(JSON.parse(text)))));
