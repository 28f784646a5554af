// The /ws/live client's states (dashboard/assets/live/40-connection.js), driven with a fake
// socket, fake timers and frames recorded from a real server: a gap, a resync, an overflow,
// an older version, a reconnect, silence, and a refused credential.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { live, fixture, fakeClock, fakeSockets, fakeReads, settle, withSeq } = require("./fakes.js");

const { createStore } = live("30-store");
const connection = live("40-connection");
const { LOST_AFTER_MS, BACKOFF_MS, BUFFER_MAX } = connection;

const FIRST = "16.08.01.1007-001";

function setup() {
  const clock = fakeClock(0);
  const sockets = fakeSockets();
  const reads = fakeReads();
  const stats = {};
  const store = createStore({ now: clock.now, stats });
  const seen = { states: [], lives: [], deltas: 0 };
  const conn = connection.createConnection({
    url: () => "ws://posko.test/ws/live",
    openSocket: (url) => sockets.open(url),
    load: reads.load,
    store,
    clock,
    stats,
    onChange: (state) => seen.states.push(state),
    onLive: (info) => seen.lives.push(info),
    onDelta: () => (seen.deltas += 1),
  });
  return { clock, sockets, reads, store, conn, seen, stats, stream: fixture("stream") };
}

/** Start, get hello, answer the snapshot read: live on the recorded snapshot. */
async function goLive(t) {
  t.conn.start();
  t.sockets.receive(t.sockets.last, t.stream.hello);
  t.reads.last.resolve(fixture("reads"));
  await settle();
  assert.equal(t.conn.state, "live");
}

test("hello, then the snapshot, then the deltas that came meanwhile: live", async () => {
  const t = setup();
  t.conn.start();
  assert.equal(t.conn.state, "connecting");
  assert.equal(t.sockets.opened.length, 1);
  t.sockets.receive(t.sockets.last, t.stream.hello);
  assert.equal(t.conn.state, "syncing");
  assert.equal(t.reads.calls.length, 1);
  // Subscribed first: the deltas that arrive while the snapshot loads wait in order.
  t.sockets.receive(t.sockets.last, ...t.stream.deltas.slice(0, 2));
  assert.equal(t.store.seq, null);
  t.reads.last.resolve(fixture("reads"));
  await settle();
  assert.equal(t.conn.state, "live");
  assert.equal(t.store.seq, t.stream.deltas[1].seq);
  assert.deepEqual(t.seen.states, ["syncing", "live"]);
  assert.deepEqual(t.seen.lives, [{ reconnected: false }]);
  assert.equal(t.conn.isLive(), true);
  assert.equal(t.conn.banner(), "");
  // Live: the rest apply as they come.
  t.sockets.receive(t.sockets.last, ...t.stream.deltas.slice(2));
  assert.equal(t.store.seq, t.stream.heartbeat.seq);
  assert.equal(t.store.tps.get(FIRST).situation, "waspada");
  assert.equal(t.seen.deltas, t.stream.deltas.length - 2);
  assert.equal(t.stats.frames, 1 + t.stream.deltas.length);
});

test("the whole recorded stream, frame by frame, ends live with one read per resync", async () => {
  const t = setup();
  await goLive(t);
  for (const frame of t.stream.in_order.slice(1)) {
    t.sockets.receive(t.sockets.last, frame);
    if (t.conn.state === "syncing") {
      t.reads.last.resolve(fixture("reads"));
      await settle();
    }
  }
  assert.equal(t.conn.state, "live");
  // The first read, and the one the recorded "resync" frame asked for.
  assert.equal(t.reads.calls.length, 2);
  assert.equal(t.stats.resyncs, 2);
});

test("a gap in seq reloads the snapshot and buffers until it is in", async () => {
  const t = setup();
  await goLive(t);
  t.sockets.receive(t.sockets.last, t.stream.deltas[0]);
  // deltas[1] never arrives.
  t.sockets.receive(t.sockets.last, t.stream.deltas[2]);
  assert.equal(t.conn.state, "syncing");
  assert.equal(t.reads.calls.length, 2);
  // Still live on screen: a resync on a talking socket takes a fraction of a second.
  assert.equal(t.conn.isLive(), true);
  t.sockets.receive(t.sockets.last, t.stream.deltas[3]);
  // The server's snapshot now includes up to deltas[2].
  const reads = fixture("reads");
  reads.snapshot.seq = t.stream.deltas[2].seq;
  t.reads.last.resolve(reads);
  await settle();
  assert.equal(t.conn.state, "live");
  assert.equal(t.store.seq, t.stream.deltas[3].seq);
  assert.deepEqual(t.seen.lives, [{ reconnected: false }, { reconnected: false }]);
});

test("buffered deltas that do not follow the snapshot read it again", async () => {
  const t = setup();
  t.conn.start();
  t.sockets.receive(t.sockets.last, t.stream.hello);
  // One delta went missing between subscribing and the snapshot being taken.
  t.sockets.receive(t.sockets.last, t.stream.deltas[2], t.stream.deltas[3]);
  t.reads.last.resolve(fixture("reads")); // seq 0: deltas[2] does not follow
  await settle();
  assert.equal(t.conn.state, "syncing");
  assert.equal(t.reads.calls.length, 2);
  const reads = fixture("reads");
  reads.snapshot.seq = t.stream.deltas[3].seq;
  t.reads.last.resolve(reads);
  await settle();
  assert.equal(t.conn.state, "live");
});

test("a resync frame reloads the snapshot", async () => {
  const t = setup();
  await goLive(t);
  t.sockets.receive(t.sockets.last, t.stream.resync);
  assert.equal(t.conn.state, "syncing");
  assert.equal(t.reads.calls.length, 2);
  // Another hole while the read is under way asks for nothing more.
  t.sockets.receive(t.sockets.last, t.stream.resync);
  assert.equal(t.reads.calls.length, 2);
  t.reads.last.resolve(fixture("reads"));
  await settle();
  assert.equal(t.conn.state, "live");
});

test("a heartbeat ahead of our seq means a delta was missed: reload", async () => {
  const t = setup();
  await goLive(t);
  t.sockets.receive(t.sockets.last, { ...t.stream.heartbeat, seq: t.store.seq });
  assert.equal(t.conn.state, "live");
  t.sockets.receive(t.sockets.last, t.stream.heartbeat); // seq 6, we hold 0
  assert.equal(t.conn.state, "syncing");
});

test("a buffer overflow while syncing drops the buffer and the next read catches up", async () => {
  const t = setup();
  t.conn.start();
  t.sockets.receive(t.sockets.last, t.stream.hello);
  const base = t.stream.deltas[0];
  for (let seq = 1; seq <= BUFFER_MAX + 1; seq++) t.sockets.receive(t.sockets.last, withSeq(base, seq));
  // Over the limit: dropped; the read under way is kept (a second one would be no newer).
  assert.equal(t.reads.calls.length, 1);
  t.sockets.receive(t.sockets.last, withSeq(base, BUFFER_MAX + 2));
  t.reads.last.resolve(fixture("reads")); // seq 0: the buffered delta does not follow
  await settle();
  assert.equal(t.conn.state, "syncing");
  assert.equal(t.reads.calls.length, 2);
  const reads = fixture("reads");
  reads.snapshot.seq = BUFFER_MAX + 2;
  t.reads.last.resolve(reads);
  await settle();
  assert.equal(t.conn.state, "live");
  assert.equal(t.store.seq, BUFFER_MAX + 2);
});

test("an older version of a TPS in a later delta is ignored, its seq is taken", async () => {
  const t = setup();
  await goLive(t);
  t.sockets.receive(t.sockets.last, ...t.stream.deltas.slice(0, 3));
  const late = withSeq(t.stream.deltas[0], t.store.seq + 1); // FIRST at version 1 again
  t.sockets.receive(t.sockets.last, late);
  assert.equal(t.conn.state, "live");
  assert.equal(t.store.seq, late.seq);
  assert.equal(t.store.tps.get(FIRST).version, 2);
  assert.equal(t.store.tps.get(FIRST).situation, "waspada");
});

test("a closed socket is lost, retried after a backoff, and resyncs as a reconnect", async () => {
  const t = setup();
  await goLive(t);
  t.sockets.serverClose(t.sockets.last, 1006);
  assert.equal(t.conn.state, "lost");
  assert.equal(t.conn.banner(), "lost");
  assert.equal(t.conn.isLive(), false);
  assert.deepEqual(t.clock.pending(), [BACKOFF_MS[0]]);
  t.clock.advance(BACKOFF_MS[0]);
  assert.equal(t.conn.state, "connecting");
  assert.equal(t.sockets.opened.length, 2);
  t.sockets.receive(t.sockets.last, t.stream.second_hello);
  // On a new socket after having been live, the screen counts as live while it resyncs.
  assert.equal(t.conn.isLive(), true);
  const reads = fixture("reads");
  reads.snapshot.seq = t.stream.second_hello.seq;
  t.reads.last.resolve(reads);
  await settle();
  assert.equal(t.conn.state, "live");
  // The screen asks the server to redraw what it draws (timeline, progress, officers).
  assert.deepEqual(t.seen.lives, [{ reconnected: false }, { reconnected: true }]);
  assert.deepEqual(t.seen.states, ["syncing", "live", "lost", "connecting", "syncing", "live"]);
});

test("the backoff grows to its cap while the server stays away, and resets once live", async () => {
  const t = setup();
  t.conn.start();
  const waits = [];
  for (let i = 0; i < 5; i++) {
    t.sockets.serverClose(t.sockets.last, 1006);
    waits.push(t.clock.pending()[0]);
    t.clock.advance(t.clock.pending()[0]);
  }
  assert.deepEqual(waits, [300, 1000, 2000, 2000, 2000]);
  t.sockets.receive(t.sockets.last, t.stream.hello);
  t.reads.last.resolve(fixture("reads"));
  await settle();
  t.sockets.serverClose(t.sockets.last, 1006);
  assert.deepEqual(t.clock.pending(), [300]);
});

test("a socket silent for three heartbeats is closed and started over", async () => {
  const t = setup();
  await goLive(t);
  const sock = t.sockets.last;
  t.clock.advance(LOST_AFTER_MS);
  t.conn.watch();
  assert.equal(t.conn.state, "live");
  t.clock.advance(1);
  // Not live on screen as soon as the heartbeats stop, before the watch closes it.
  assert.equal(t.conn.isLive(), false);
  t.conn.watch();
  assert.equal(t.conn.state, "lost");
  assert.equal(sock.closedWith.code, 4000);
  // Its late frames are not read any more.
  t.sockets.receive(sock, t.stream.deltas[0]);
  assert.equal(t.store.seq, 0);
});

test("a socket that never says hello is given up after the same silence", () => {
  const t = setup();
  t.conn.start();
  t.clock.advance(LOST_AFTER_MS + 1);
  t.conn.watch();
  assert.equal(t.conn.state, "lost");
  assert.equal(t.sockets.opened[0].closedWith.code, 4000);
});

test("a failed snapshot read is lost and retried; a read from an older socket is ignored", async () => {
  const t = setup();
  t.conn.start();
  t.sockets.receive(t.sockets.last, t.stream.hello);
  const first = t.reads.last;
  first.reject(Object.assign(new Error("/api/v1/snapshot 503"), { status: 503 }));
  await settle();
  assert.equal(t.conn.state, "lost");
  t.clock.advance(BACKOFF_MS[0]);
  t.sockets.receive(t.sockets.last, t.stream.hello);
  const second = t.reads.last;
  t.sockets.serverClose(t.sockets.last, 1006); // gone while its read was under way
  second.resolve(fixture("reads"));
  await settle();
  assert.equal(t.conn.state, "lost");
  assert.equal(t.store.seq, null);
});

test("a read that takes too long is aborted", async () => {
  const t = setup();
  t.conn.start();
  t.sockets.receive(t.sockets.last, t.stream.hello);
  const read = t.reads.last;
  assert.equal(read.signal.aborted, false);
  t.clock.advance(15000);
  assert.equal(read.signal.aborted, true);
});

test("a refused credential (error frame, then 1008) is denied and never retried", async () => {
  const t = setup();
  await goLive(t);
  const refused = fixture("refused").revoked;
  const sock = t.sockets.last;
  t.sockets.receive(sock, refused.frame);
  assert.equal(t.conn.state, "denied");
  t.sockets.serverClose(sock, refused.close_code);
  // The credential itself ended (revoked): the screen says its access ended.
  assert.equal(t.conn.banner(), "ended");
  assert.equal(t.conn.ended, refused.frame.error.reason);
  assert.equal(t.conn.isLive(), false);
  assert.deepEqual(t.clock.pending(), []);
  t.clock.advance(10 * 60 * 1000);
  t.conn.watch();
  assert.equal(t.sockets.opened.length, 1);
  assert.equal(t.conn.state, "denied");
});

test("a close with 1008 alone is denied too", async () => {
  const t = setup();
  await goLive(t);
  t.sockets.serverClose(t.sockets.last, 1008);
  assert.equal(t.conn.state, "denied");
  assert.equal(t.conn.banner(), "denied"); // refused, but nothing said the credential ended
  assert.equal(t.conn.ended, null);
  t.clock.advance(60 * 1000);
  assert.equal(t.sockets.opened.length, 1);
});

test("a refused device token on the first connect is denied before anything loads", () => {
  const t = setup();
  t.conn.start();
  const refused = fixture("refused").device;
  t.sockets.receive(t.sockets.last, refused.frame);
  t.sockets.serverClose(t.sockets.last, refused.close_code);
  assert.equal(t.conn.state, "denied");
  assert.equal(t.reads.calls.length, 0);
  assert.deepEqual(t.seen.states, ["denied"]);
});

test("a snapshot read refused with 401 is denied", async () => {
  const t = setup();
  t.conn.start();
  t.sockets.receive(t.sockets.last, t.stream.hello);
  t.reads.last.reject(Object.assign(new Error("/api/v1/snapshot 401"), { status: 401 }));
  await settle();
  assert.equal(t.conn.state, "denied");
  assert.equal(t.conn.banner(), "ended"); // 401: this browser's credential is gone
  assert.equal(t.sockets.opened[0].closedWith.code, 4000);
  assert.deepEqual(t.clock.pending(), []);
});

test("an error frame about the area waits for the close that follows", async () => {
  const t = setup();
  t.conn.start();
  t.sockets.receive(t.sockets.last, { type: "error", error: { field: "area", reason: "outside" } });
  assert.equal(t.conn.state, "connecting");
  t.sockets.serverClose(t.sockets.last, 1008);
  assert.equal(t.conn.state, "denied");
  assert.equal(t.conn.banner(), "denied"); // an area refusal is not the end of access
});

test("the banner waits six seconds for a first connection, unless an attempt failed", () => {
  const slow = setup();
  slow.conn.start();
  assert.equal(slow.conn.banner(), "");
  slow.clock.advance(LOST_AFTER_MS + 1);
  assert.equal(slow.conn.banner(), "lost");
  const failed = setup();
  failed.conn.start();
  failed.sockets.serverClose(failed.sockets.last, 1006);
  failed.clock.advance(BACKOFF_MS[0]);
  assert.equal(failed.conn.state, "connecting");
  assert.equal(failed.conn.banner(), "lost");
});

test("every state answers every event, and denied is the end", () => {
  const states = Object.keys(connection.TRANSITIONS);
  assert.deepEqual(states, ["connecting", "syncing", "live", "lost", "denied", "replay"]);
  const events = ["hello", "reload", "loaded", "failed", "closed", "silent", "refused", "retry", "replay", "resume"];
  for (const s of states) {
    for (const e of events) assert.ok(states.includes(connection.next(s, e)), s + " + " + e);
  }
  for (const e of events) assert.equal(connection.next("denied", e), "denied");
  for (const s of ["connecting", "syncing", "live"]) assert.equal(connection.next(s, "refused"), "denied");
  assert.equal(connection.next("lost", "retry"), "connecting");
});

test("readPicture reads snapshot, log and incidents, and names a refusal's status", async () => {
  const urls = { snapshot: "/s", log: "/l", incidents: "/i" };
  const asked = [];
  const fetchOk = (url, opts) => {
    asked.push([url, opts.credentials, opts.cache]);
    return Promise.resolve({ ok: true, status: 200, json: () => Promise.resolve({ url }) });
  };
  const got = await connection.readPicture(fetchOk, () => urls)(null);
  assert.deepEqual(got, { snapshot: { url: "/s" }, log: { url: "/l" }, incidents: { url: "/i" } });
  assert.deepEqual(asked[0], ["/s", "same-origin", "no-store"]);
  const fetch401 = () => Promise.resolve({ ok: false, status: 401 });
  await assert.rejects(connection.readPicture(fetch401, () => ({ snapshot: "/s", log: "/l" }))(null), {
    status: 401,
  });
});
