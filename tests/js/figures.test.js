// How the live client paces its chart draws (dashboard/assets/live/60-figures.js): the
// timeline and progress bars take at most about a tenth of the page's thread, measured from
// their own draws, so the map's patches do not wait behind them under load.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { live, fakeClock } = require("./fakes.js");

const { createFigures, chartsGap, createMeter } = live("60-figures");

test("charts are drawn every 2 s when cheap, ten times their cost when slow, at most every 15 s", () => {
  assert.equal(chartsGap(0), 2000);
  assert.equal(chartsGap(150), 2000);
  assert.equal(chartsGap(400), 4000);
  assert.equal(chartsGap(1000), 10000);
  assert.equal(chartsGap(5000), 15000);
  assert.equal(chartsGap(undefined), 2000);
});

test("a round of draws lasts from the first graph marked pending until none is", () => {
  const m = createMeter();
  assert.equal(m.note("timeline", false, 5), null); // not drawing: nothing to end
  assert.equal(m.note("timeline", true, 10), null);
  assert.equal(m.note("progress", true, 12), null);
  assert.equal(m.note("timeline", false, 300), null); // progress still drawing
  assert.equal(m.note("progress", false, 340), 330);
  assert.equal(m.note("progress", false, 400), null); // already ended
  assert.equal(m.note("timeline", true, 1000), null);
  assert.equal(m.note("timeline", false, 1050), 50);
});

// dash.scale() reads the window's size: a 1920x1080 wall.
global.window = { innerWidth: 1920, innerHeight: 1080 };

// The smallest timeline the server could have drawn: no rows, and a day that is over (so a
// draw reads it, asks for the next day's and patches nothing).
const TIMELINE = {
  data: [{ x: [], y: [], z: [] }, { x: [], y: [] }, { x: [], y: [] }, { x: [], y: [] }],
  layout: {
    meta: { kind: "timeline", rev: "1", start: "2026-12-06T22:00:00Z", day_end: "2026-12-07T10:00:00Z", bin_s: 600, bins: 0 },
    xaxis: { range: ["2026-12-07 05:00", "2026-12-07 06:00"] },
  },
};

// A page with a timeline and no map or progress figure: every draw of the charts reads the timeline.
function page() {
  const clock = fakeClock(100000);
  const reads = [];
  const bridge = {
    busy: () => false,
    figureOf: (id) => {
      reads.push(id);
      return id === "t" ? TIMELINE : null;
    },
    newPatch: () => ({ build: () => ({ operations: [] }) }),
    send: () => false,
    plotOf: () => null,
  };
  const store = {
    tps: new Map(),
    stale: new Set(),
    changed: { codes: new Set() },
    serverNow: () => Date.parse("2026-12-07T12:00:00Z"),
  };
  const ids = { map: "m", timeline: "t", progress: "p" };
  const stats = {};
  const figures = createFigures({
    store,
    bridge,
    cfg: () => ({ ids }),
    now: clock.now,
    onNewDay: () => {},
    onIdle: () => {},
    stats,
  });
  const timelineReads = () => reads.filter((id) => id === "t").length;
  return { clock, figures, stats, timelineReads };
}

test("slow chart draws space the next ones out; cheap ones bring back the 2 s pace", () => {
  const { clock, figures, stats, timelineReads } = page();
  figures.drawCharts();
  assert.equal(timelineReads(), 1);
  // That round held the thread for 800 ms (the graphs' pending class on, then off).
  figures.noteDraw("timeline", true, clock.now());
  figures.noteDraw("progress", true, clock.now());
  clock.advance(800);
  figures.noteDraw("timeline", false, clock.now());
  figures.noteDraw("progress", false, clock.now());
  assert.deepEqual([stats.chartDraws, stats.chartDrawMs], [1, 800]);
  clock.advance(2000); // 2.8 s after the last round started: 8 s are due after an 800 ms one
  figures.drawCharts();
  assert.equal(timelineReads(), 1);
  clock.advance(5300);
  figures.drawCharts();
  assert.equal(timelineReads(), 2);
  // A cheap round (100 ms): the next comes 2 s after it.
  figures.noteDraw("timeline", true, clock.now());
  clock.advance(100);
  figures.noteDraw("timeline", false, clock.now());
  clock.advance(1800);
  figures.drawCharts();
  assert.equal(timelineReads(), 2);
  clock.advance(200);
  figures.drawCharts();
  assert.equal(timelineReads(), 3);
});

test("map draws are counted apart from the charts' and free the next change", () => {
  const { clock, figures, stats, timelineReads } = page();
  figures.drawCharts();
  figures.noteDraw("map", true, clock.now());
  clock.advance(1500);
  figures.noteDraw("map", false, clock.now());
  assert.deepEqual([stats.mapDraws, stats.mapDrawMs, stats.chartDraws], [1, 1500, undefined]);
  // The charts' pace is not slowed by the map's draws.
  clock.advance(500);
  figures.drawCharts();
  assert.equal(timelineReads(), 2);
});
