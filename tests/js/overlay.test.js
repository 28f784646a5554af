// The map's overlay (dashboard/assets/live/62-overlay.js): what it paints for markers that
// changed, and how often the map itself then follows (60-figures.js mapGap).
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { live } = require("./fakes.js");

const { plan } = live("62-overlay");
const { mapGap } = live("60-figures");

const GREEN = "#22c55e";
const RED = "#ef4444";

test("the map follows every 4 s with an overlay, twenty times its draw when slow, at most every 10 s", () => {
  assert.equal(mapGap(0, false), 100); // no overlay: a change goes to the map at once
  assert.equal(mapGap(450, false), 100);
  assert.equal(mapGap(0, true), 4000);
  assert.equal(mapGap(300, true), 6000);
  assert.equal(mapGap(5000, true), 10000);
});

test("a changed marker is painted over an eraser as big as what the map shows there", () => {
  const pts = [[10, 10], [100, 100], [300, 300]];
  const drawn = (i) => [GREEN, [7, 7, 14][i]];
  // Marker 2 shrinks from 14 px to 7 px: its eraser covers the old 14 px disc.
  const out = plan(new Map([[2, [GREEN, 7]]]), pts, drawn);
  assert.deepEqual(out.erase, [[300, 300, 8]]);
  assert.deepEqual(out.paint, [[300, 300, 3.5, GREEN]]);
});

test("neighbours an eraser touches are painted again, in the map's order, as they look", () => {
  const pts = [[100, 100], [108, 100], [200, 200], null];
  const drawn = () => [GREEN, 7];
  const entries = new Map([[1, [RED, 14]], [3, [RED, 14]]]); // 3 is off screen
  const out = plan(entries, pts, drawn);
  assert.deepEqual(out.erase, [[108, 100, 8]]);
  // Marker 0 (8 px away) is under the eraser: painted first (the map draws it first), as the
  // map shows it; the changed marker over it; marker 2, far away, not at all.
  assert.deepEqual(out.paint, [
    [100, 100, 3.5, GREEN],
    [108, 100, 7, RED],
  ]);
});

test("nothing changed: nothing to paint", () => {
  assert.deepEqual(plan(new Map(), [[1, 1]], () => [GREEN, 7]), { erase: [], paint: [] });
});

// dash.scale() reads the window's size: a 1920x1080 wall.
global.window = { innerWidth: 1920, innerHeight: 1080 };

test("a change that came while the map drew the one before stays painted until the map shows it", () => {
  const { createOverlay } = live("62-overlay");
  const theme = { situation_colours: { aman: GREEN, gangguan: RED }, situation_sizes: { aman: 7, gangguan: 14 } };
  const t = { code: "A", situation: "aman" };
  const store = { tps: new Map([["A", t]]), stale: new Set() };
  const view = { lat: [0], lon: [0], codes: ["A"], index: new Map([["A", 0]]), mode: "situation", colour: [GREEN], size: [7] };
  const ov = createOverlay({
    store,
    bridge: { plotOf: () => null },
    cfg: () => ({ ids: { map: "m" }, theme }),
    now: () => 0,
    view: () => view,
  });
  const codes = new Set(["A"]);
  t.situation = "gangguan";
  ov.mark(codes);
  assert.equal(ov.size, 1); // red on the overlay, the map still green
  t.situation = "aman";
  ov.mark(codes);
  assert.equal(ov.size, 0); // back to green: the map's own pixel is right
  // The map finishes drawing the red it was handed meanwhile: green goes on the overlay again.
  view.colour[0] = RED;
  view.size[0] = 14;
  ov.settled(codes);
  assert.equal(ov.size, 1);
  // The map's next draw shows green: the overlay lets go.
  view.colour[0] = GREEN;
  view.size[0] = 7;
  ov.settled(codes);
  assert.equal(ov.size, 0);
});
