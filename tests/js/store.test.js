// The browser's copy of the picture (dashboard/assets/live/30-store.js) merged from frames
// recorded from a real server: a snapshot, then the deltas of three pings and an incident.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { live, fixture, fakeClock, withSeq } = require("./fakes.js");

const { createStore } = live("30-store");

function loaded() {
  const clock = fakeClock(1000);
  const stats = {};
  const store = createStore({ now: clock.now, stats });
  const reads = fixture("reads");
  const stream = fixture("stream");
  store.load(reads);
  return { store, clock, stats, reads, stream };
}

const [FIRST, SECOND, THIRD] = ["16.08.01.1007-001", "16.08.01.1007-002", "16.08.01.1007-003"];

test("a snapshot replaces the picture and sets its seq", () => {
  const { store, reads } = loaded();
  assert.equal(store.seq, reads.snapshot.seq);
  assert.equal(store.channel, "nat");
  assert.equal(store.tps.size, 12);
  assert.equal(store.tps.get(FIRST).version, 0);
  assert.deepEqual(store.grace, reads.snapshot.grace_s);
  // Everything is to be drawn after a load.
  assert.equal(store.changed.all, true);
});

test("recorded deltas in order move each TPS to its newest state", () => {
  const { store, stream, stats } = loaded();
  for (const d of stream.deltas) assert.equal(store.applyDelta(d), true);
  assert.equal(store.seq, stream.heartbeat.seq);
  assert.equal(stats.deltas, stream.deltas.length);
  const first = store.tps.get(FIRST);
  assert.deepEqual([first.phase, first.situation, first.version], ["pemungutan", "waspada", 2]);
  assert.equal(first.last_seen_ms, Date.parse(first.last_seen_at));
  assert.equal(store.tps.get(SECOND).phase, "pemungutan");
  // The incident raised its TPS to gangguan without a new report (same version).
  assert.equal(store.tps.get(THIRD).incident_situation, "gangguan");
  assert.equal(store.incidents.size, 1);
  assert.ok(store.alerts.size > 0);
  assert.ok(store.changed.codes.has(FIRST) && store.changed.codes.has(THIRD));
  // Log lines newest first, each once.
  assert.equal(store.log[0].kind, "incident");
  assert.equal(new Set(store.log.map((e) => JSON.stringify(e))).size, store.log.length);
});

test("a delta already in the snapshot is accepted and changes nothing", () => {
  const { store, stream } = loaded();
  store.applyDelta(stream.deltas[0]);
  const before = JSON.stringify([...store.tps.values()]);
  assert.equal(store.applyDelta(stream.deltas[0]), true);
  assert.equal(JSON.stringify([...store.tps.values()]), before);
  assert.equal(store.seq, stream.deltas[0].seq);
});

test("a gap in seq is refused and leaves the picture as it was", () => {
  const { store, stream } = loaded();
  store.applyDelta(stream.deltas[0]);
  // deltas[1] lost on the way: deltas[2] does not follow.
  assert.equal(store.applyDelta(stream.deltas[2]), false);
  assert.equal(store.seq, stream.deltas[0].seq);
  assert.equal(store.tps.get(FIRST).version, 1);
});

test("an older version of a TPS never replaces a newer one", () => {
  const { store, stream } = loaded();
  for (const d of stream.deltas.slice(0, 3)) store.applyDelta(d);
  assert.equal(store.tps.get(FIRST).version, 2);
  // The first report about FIRST (version 1) again, in a later delta.
  const late = withSeq(stream.deltas[0], store.seq + 1);
  assert.equal(store.applyDelta(late), true);
  const first = store.tps.get(FIRST);
  assert.deepEqual([first.phase, first.situation, first.version], ["pemungutan", "waspada", 2]);
  assert.equal(store.seq, late.seq);
});

test("a resolved incident moves to the list that waits for closing, a closed one leaves", () => {
  const { store, stream } = loaded();
  for (const d of stream.deltas) store.applyDelta(d);
  const opened = stream.deltas.find((d) => d.incidents && d.incidents.length).incidents[0];
  const resolved = { ...opened, status: "selesai", version: opened.version + 1 };
  store.applyDelta({ type: "delta", seq: store.seq + 1, at: stream.heartbeat.at, incidents: [resolved] });
  assert.equal(store.incidents.size, 0);
  assert.equal(store.resolved.get(opened.id).status, "selesai");
  // An older copy arriving late changes nothing.
  store.applyDelta({ type: "delta", seq: store.seq + 1, at: stream.heartbeat.at, incidents: [opened] });
  assert.equal(store.incidents.size, 0);
  const closed = { ...resolved, status: "ditutup", version: resolved.version + 1 };
  store.applyDelta({ type: "delta", seq: store.seq + 1, at: stream.heartbeat.at, incidents: [closed] });
  assert.equal(store.resolved.size, 0);
});

test("a cleared alert leaves, an older copy of an alert is ignored", () => {
  const { store, stream } = loaded();
  for (const d of stream.deltas) store.applyDelta(d);
  const alert = [...store.alerts.values()][0];
  const older = { ...alert, version: alert.version - 1, cleared_at: stream.heartbeat.at };
  store.applyDelta({ type: "delta", seq: store.seq + 1, at: stream.heartbeat.at, alerts: [older] });
  assert.ok(store.alerts.has(alert.id));
  const cleared = { ...alert, version: alert.version + 1, cleared_at: stream.heartbeat.at };
  store.applyDelta({ type: "delta", seq: store.seq + 1, at: stream.heartbeat.at, alerts: [cleared] });
  assert.ok(!store.alerts.has(alert.id));
});

test("the server clock follows the frames and runs on with the local clock", () => {
  const { store, clock, stream } = loaded();
  store.applyDelta(stream.deltas[0]);
  const at = Date.parse(stream.deltas[0].at);
  assert.equal(store.serverNow(), at);
  clock.advance(1500);
  assert.equal(store.serverNow(), at + 1500);
  assert.equal(store.lastDataAt, at);
});

test("a TPS not seen within its grace turns stale and is logged once as a silence", () => {
  const { store, clock, stream } = loaded();
  for (const d of stream.deltas) store.applyDelta(d);
  store.evaluateStale(); // the first judgement after a load logs nothing
  assert.equal(store.stale.size, 0);
  const first = store.tps.get(FIRST);
  const grace = store.grace[first.risk][first.phase];
  const seenAgo = (store.serverNow() - first.last_seen_ms) / 1000;
  clock.advance((grace - seenAgo + 1) * 1000);
  store.changed.codes.clear();
  store.evaluateStale();
  assert.ok(store.stale.has(FIRST));
  assert.ok(store.changed.codes.has(FIRST));
  const silences = store.log.filter((e) => e.kind === "silence" && e.tps === FIRST);
  assert.equal(silences.length, 1);
  assert.equal(silences[0].after, String(Math.round(grace / 60)));
  store.evaluateStale();
  assert.equal(store.log.filter((e) => e.kind === "silence").length, 1);
});

test("a reload keeps the silences judged here and takes the server's log", () => {
  const { store, clock, reads, stream } = loaded();
  for (const d of stream.deltas) store.applyDelta(d);
  store.evaluateStale();
  clock.advance(3 * 3600 * 1000);
  store.evaluateStale();
  const silences = store.log.filter((e) => e.kind === "silence").length;
  assert.ok(silences > 0);
  store.load(fixture("reads"));
  assert.equal(store.log.filter((e) => e.kind === "silence").length, silences);
  assert.equal(store.seq, reads.snapshot.seq);
});

test("the log keeps the newest sixty lines", () => {
  const { store, stream } = loaded();
  const at = Date.parse(stream.hello.at);
  const lines = Array.from({ length: 80 }, (_, i) => ({
    kind: "phase",
    tps: FIRST,
    at: new Date(at + i * 1000).toISOString(),
    after: "persiapan",
  }));
  store.applyDelta({ type: "delta", seq: store.seq + 1, at: stream.hello.at, log: lines });
  assert.equal(store.log.length, 60);
  assert.equal(store.log[0].at, lines[79].at);
});

test("officers keep the newest time they were seen, from the server or the stream", () => {
  const { store, stream } = loaded();
  const nrp = store.tps.get(FIRST).officers[0];
  store.setOfficers([[nrp, null, "AIPDA Budi"], ["99999999", "2024-11-27T00:00:00Z", "BRIPKA Adi"]]);
  assert.equal(store.officers.get(nrp), null);
  assert.equal(store.officerNames.get(nrp), "AIPDA Budi");
  store.applyDelta(stream.deltas[0]);
  assert.equal(store.officers.get(nrp), store.tps.get(FIRST).last_seen_ms);
  // The server's older read does not take it back.
  store.setOfficers([[nrp, "2024-11-26T00:00:00Z", "AIPDA Budi"]]);
  assert.equal(store.officers.get(nrp), store.tps.get(FIRST).last_seen_ms);
});
