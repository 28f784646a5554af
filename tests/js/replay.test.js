// The commander's time control (dashboard/assets/live/85-replay.js) with the real store and
// connection, a fake socket, fake reads and a fake clock: seeking closes the live socket and no
// delta reaches the past picture; play moves the moment; back to live reconnects and resyncs.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { live, fixture, fakeClock, fakeSockets, fakeReads, settle, withSeq } = require("./fakes.js");

const { createStore } = live("30-store");
const connection = live("40-connection");
const replay = live("85-replay");

const FIRST = "16.08.01.1007-001";
const T0 = Date.parse("2024-11-27T03:00:00Z"); // 10:00 WIB

function setup() {
  const clock = fakeClock(0);
  const sockets = fakeSockets();
  const reads = fakeReads();
  const past = fakeReads();
  const asked = [];
  const store = createStore({ now: clock.now, stats: {} });
  const conn = connection.createConnection({
    url: () => "ws://posko.test/ws/live",
    openSocket: (url) => sockets.open(url),
    load: reads.load,
    store,
    clock,
  });
  let redraws = 0;
  const control = replay.createReplay({
    connection: conn,
    store,
    load: (at) => {
      asked.push(at);
      return past.load();
    },
    clock,
    onChange: () => (redraws += 1),
  });
  return { clock, sockets, reads, past, asked, store, conn, control, stream: fixture("stream"), redraws: () => redraws };
}

async function goLive(t) {
  t.conn.start();
  t.sockets.receive(t.sockets.last, t.stream.hello);
  t.reads.last.resolve(fixture("reads"));
  await settle();
  assert.equal(t.conn.state, "live");
}

/** Reads of a past moment: the recorded snapshot, re-stamped and with the first TPS changed. */
function pastReads(atMs, phase) {
  const r = fixture("reads");
  r.snapshot.taken_at = new Date(atMs).toISOString();
  r.snapshot.seq = 0;
  r.snapshot.tps.find((v) => v.code === FIRST).phase = phase;
  r.log = [];
  r.incidents = null;
  return r;
}

test("pure helpers: rates 1-600, WIB days and times, replay URLs keep the area", () => {
  assert.equal(replay.clampRate(0), 1);
  assert.equal(replay.clampRate("60"), 60);
  assert.equal(replay.clampRate(10000), 600);
  assert.equal(replay.clampRate("x"), 1);
  const day = replay.dayStart(T0);
  assert.equal(new Date(day).toISOString(), "2024-11-26T17:00:00.000Z"); // 00:00 WIB
  assert.equal(replay.dayStart(day), day);
  assert.equal(new Date(replay.momentOf(T0, "07:30")).toISOString(), "2024-11-27T00:30:00.000Z");
  assert.equal(new Date(replay.momentOf(T0, "23:59:59")).toISOString(), "2024-11-27T16:59:59.000Z");
  assert.ok(Number.isNaN(replay.momentOf(T0, "24:00")));
  assert.ok(Number.isNaN(replay.momentOf(T0, "jam 7")));
  assert.equal(replay.advance(T0, 60, 1000), T0 + 60000);
  assert.equal(replay.advance(T0, 600, 1000, T0 + 1000), T0 + 1000);
  const urls = replay.replayUrls({ snapshot: "/api/v1/snapshot?area=16.08" }, T0);
  assert.equal(urls.snapshot, "/api/v1/replay/snapshot?area=16.08&at=2024-11-27T03%3A00%3A00.000Z");
  assert.equal(urls.log, "/api/v1/replay/log?area=16.08&at=2024-11-27T03%3A00%3A00.000Z");
  assert.equal(urls.incidents, "/api/v1/replay/incidents?area=16.08&at=2024-11-27T03%3A00%3A00.000Z");
  assert.equal(replay.replayUrls({ snapshot: "/api/v1/snapshot" }, T0).snapshot.indexOf("area"), -1);
});

test("seek: the live socket closes, the past picture loads, and no delta reaches it", async () => {
  const t = setup();
  await goLive(t);
  const liveSocket = t.sockets.last;
  t.store.setClock("2024-11-27T05:00:00Z");
  assert.equal(t.control.seek(T0), true);
  assert.equal(t.conn.state, "replay");
  assert.equal(t.control.active, true);
  assert.notEqual(liveSocket.closedWith, null, "the live socket is closed");
  assert.equal(t.conn.banner(), "", "a replay is not a loss");
  assert.equal(t.conn.isLive(), false);
  t.past.last.resolve(pastReads(T0, "persiapan"));
  await settle();
  assert.equal(t.store.tps.get(FIRST).phase, "persiapan");
  assert.equal(t.store.seq, 0);
  assert.equal(t.store.lastDataAt, T0);
  // The screen's clock is the moment: it stands still while paused (not the present's pace).
  t.clock.advance(5000);
  assert.equal(t.store.serverNow(), T0);
  // The old socket's frames (had it not closed in time) are ignored: the picture stays past.
  const before = JSON.stringify(t.store.tps.get(FIRST));
  t.sockets.receive(liveSocket, ...t.stream.deltas);
  assert.equal(JSON.stringify(t.store.tps.get(FIRST)), before);
  assert.equal(t.sockets.opened.length, 1, "no reconnect while replaying");
  t.clock.advance(60000);
  assert.equal(t.sockets.opened.length, 1);
  assert.equal(t.conn.state, "replay");
});

test("a seek while a read is out waits for it; an older answer never overwrites a newer one", async () => {
  const t = setup();
  await goLive(t);
  t.store.setClock("2024-11-27T05:00:00Z");
  t.control.seek(T0);
  t.control.seek(T0 + 60000);
  t.control.seek(T0 + 120000);
  assert.equal(t.past.calls.length, 1);
  t.past.calls[0].resolve(pastReads(T0, "persiapan"));
  await settle();
  assert.equal(t.past.calls.length, 2);
  assert.equal(t.asked[1], T0 + 120000, "only the newest wish is read");
  t.past.calls[1].resolve(pastReads(T0 + 120000, "pemungutan"));
  await settle();
  assert.equal(t.store.tps.get(FIRST).phase, "pemungutan");
  assert.equal(t.control.at, T0 + 120000);
});

test("play moves the moment rate seconds per second and stops at the present", async () => {
  const t = setup();
  await goLive(t);
  t.store.setClock(new Date(T0 + 300000).toISOString()); // the present: 5 min after T0
  t.control.seek(T0);
  t.past.last.resolve(pastReads(T0, "persiapan"));
  await settle();
  t.control.play(60);
  assert.equal(t.control.playing, true);
  assert.equal(t.store.speed, 60, "the clock moves at the play rate");
  t.clock.advance(1000);
  assert.equal(t.control.at, T0 + 60000);
  t.past.last.resolve(pastReads(T0 + 60000, "persiapan"));
  await settle();
  t.clock.advance(1000);
  assert.equal(t.control.at, T0 + 120000);
  // A slow read: the next steps move the moment but ask nothing until it answers.
  const calls = t.past.calls.length;
  t.clock.advance(1000);
  assert.equal(t.past.calls.length, calls);
  t.past.last.resolve(pastReads(T0 + 120000, "persiapan"));
  await settle();
  t.control.setRate(600);
  t.clock.advance(1000);
  assert.ok(t.control.at <= T0 + 300000 + 1);
  assert.equal(t.control.playing, false, "stopped at the present");
  t.control.pause();
  assert.equal(t.clock.pending().length, 0);
});

test("back to live: a new socket, a fresh snapshot, deltas apply again", async () => {
  const t = setup();
  await goLive(t);
  t.store.setClock("2024-11-27T05:00:00Z");
  t.control.seek(T0);
  const late = t.past.last;
  t.control.play(10);
  t.control.live();
  assert.equal(t.control.active, false);
  assert.equal(t.control.playing, false);
  assert.equal(t.conn.state, "connecting");
  assert.equal(t.sockets.opened.length, 2);
  // The past read answering now is dropped: the present is on its way.
  late.resolve(pastReads(T0, "persiapan"));
  await settle();
  t.sockets.receive(t.sockets.last, t.stream.hello);
  assert.equal(t.conn.state, "syncing");
  t.reads.last.resolve(fixture("reads"));
  await settle();
  assert.equal(t.conn.state, "live");
  const seq = t.store.seq;
  t.sockets.receive(t.sockets.last, withSeq(t.stream.deltas[0], seq + 1));
  assert.equal(t.store.seq, seq + 1);
  assert.ok(t.redraws() > 0);
});

test("a refused credential stays refused: no replay to hide it", async () => {
  const t = setup();
  t.conn.start();
  t.sockets.serverClose(t.sockets.last, 1008);
  assert.equal(t.conn.state, "denied");
  assert.equal(t.control.seek(T0), false);
  assert.equal(t.conn.state, "denied");
  assert.equal(t.past.calls.length, 0);
});

test("every state still leads somewhere known, replay included", () => {
  assert.equal(connection.next("live", "replay"), "replay");
  assert.equal(connection.next("lost", "replay"), "replay");
  assert.equal(connection.next("replay", "resume"), "connecting");
  for (const e of ["hello", "reload", "loaded", "closed", "silent", "retry", "refused"]) {
    assert.equal(connection.next("replay", e), "replay", e);
  }
  assert.equal(connection.next("denied", "replay"), "denied");
});
