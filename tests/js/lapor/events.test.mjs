// The wire events the phone builds (js/events.js), the clock it stamps them with (js/clock.js)
// and the size its photos are drawn at (js/photos.js): pure pieces, checked without a browser.

import test from "node:test";
import assert from "node:assert/strict";
import { pingEvent, incidentEvent, sosEvent, nextPhase, foldPhase } from "../../../dashboard/lapor/js/events.js";
import { offsetOf, readingOf, stampOf, clockIsOff, durationWords } from "../../../dashboard/lapor/js/clock.js";
import { fitWithin, MAX_SIDE, MAX_BYTES } from "../../../dashboard/lapor/js/photos.js";

const ID = "0193706b-3e80-7abc-8def-0123456789ab";
const TIME = "2024-11-27T02:10:00.000Z";

test("SOS is a severity-4 incident of category lainnya, with the location only when known", () => {
  assert.deepEqual(sosEvent({ id: ID, time: TIME, fix: null }), {
    type: "incident",
    event_id: ID,
    device_time: TIME,
    category: "lainnya",
    severity: 4,
    sos: true,
    description: "SOS",
    tps: null,
  });
  const located = sosEvent({ id: ID, time: TIME, fix: { lat: -4.1461234567, lon: 104.6391234567 } });
  assert.equal(located.lat, -4.146123);
  assert.equal(located.lon, 104.639123);
});

test("a ping carries its note and location only when there are some", () => {
  const bare = pingEvent({ id: ID, time: TIME, tps: "16.08.03.2001-001", phase: "pemungutan", situation: "aman", note: "  " });
  assert.deepEqual(Object.keys(bare).sort(), ["device_time", "event_id", "phase", "situation", "tps", "type"]);
  const full = pingEvent({
    id: ID,
    time: TIME,
    tps: "16.08.03.2001-001",
    phase: "pemungutan",
    situation: "waspada",
    note: " antrean panjang ".repeat(60),
    fix: { lat: -4.1, lon: 104.6 },
  });
  assert.equal(full.note.length, 500, "the server's limit");
  assert.equal(full.note[0], "a", "trimmed");
  assert.deepEqual([full.lat, full.lon], [-4.1, 104.6]);
  const half = pingEvent({ id: ID, time: TIME, tps: "x", phase: "p", situation: "s", fix: { lat: NaN, lon: 1 } });
  assert.ok(!("lat" in half) && !("lon" in half), "lat and lon come together, or not at all");
});

test("an incident names its TPS or its place, and its description fits the server's limit", () => {
  const at = incidentEvent({ id: ID, time: TIME, category: "kericuhan", severity: 3, tps: "16.08.03.2001-001", description: "x".repeat(2500) });
  assert.equal(at.tps, "16.08.03.2001-001");
  assert.equal(at.description.length, 2000);
  const here = incidentEvent({ id: ID, time: TIME, category: "lainnya", severity: 1, tps: null, description: "d", fix: { lat: 1, lon: 2 } });
  assert.ok(!("tps" in here));
  assert.deepEqual([here.lat, here.lon], [1, 2]);
});

test("the next phase follows the election's order; ditunda resumes where the calendar is", () => {
  assert.equal(nextPhase(null), "logistik_tiba");
  assert.equal(nextPhase("persiapan"), "pemungutan");
  assert.equal(nextPhase("kotak_dikawal"), "diterima_ppk");
  assert.equal(nextPhase("diterima_ppk"), null);
  assert.equal(nextPhase("ditunda", "penghitungan"), "penghitungan");
  assert.equal(nextPhase("ditunda", null), "pemungutan");
});

test("the officer's own later pings fold into the card's phase as the server would", () => {
  assert.equal(foldPhase("persiapan", ["pemungutan"]), "pemungutan");
  assert.equal(foldPhase("penghitungan", ["pemungutan"]), "penghitungan", "never back");
  assert.equal(foldPhase("pemungutan", ["ditunda"]), "ditunda");
  assert.equal(foldPhase("ditunda", ["pemungutan"]), "pemungutan");
  assert.equal(foldPhase(null, []), null);
});

test("the clock offset is the server's time against the middle of the round trip", () => {
  assert.equal(offsetOf(1000, new Date(6000).toISOString(), 3000), 4000);
  assert.equal(offsetOf(1000, "not a time", 3000), null);
  const r = readingOf({ now: new Date(10_000).toISOString(), speed: 1, exercise: null }, 0, 200);
  assert.deepEqual([r.offset, r.rtt, r.exercise], [9900, 200, null]);
  assert.equal(clockIsOff(r), false);
  assert.equal(clockIsOff({ ...r, offset: 3 * 60_000 }), true);
  assert.equal(durationWords(125_000), "2 mnt 5 dtk");
  assert.equal(durationWords(-3_000, "en"), "3 s");
});

test("a report is stamped with the phone's time, or the exercise clock during an exercise", () => {
  assert.equal(stampOf(Date.parse(TIME), null), TIME);
  assert.equal(stampOf(Date.parse(TIME), { offset: 99_999, exercise: null }), TIME, "the phone's own time");
  const exercise = { server: Date.parse("2024-11-27T00:00:00Z"), local: 1_000_000, speed: 10, exercise: "Latihan" };
  assert.equal(stampOf(1_000_000 + 60_000, exercise), "2024-11-27T00:10:00.000Z");
});

test("a photo is drawn with its longest side at most 1280 px, never enlarged", () => {
  assert.deepEqual(fitWithin(4000, 3000), { width: 1280, height: 960 });
  assert.deepEqual(fitWithin(3000, 4000), { width: 960, height: 1280 });
  assert.deepEqual(fitWithin(800, 600), { width: 800, height: 600 });
  assert.deepEqual([MAX_SIDE, MAX_BYTES], [1280, 300 * 1024]);
});
