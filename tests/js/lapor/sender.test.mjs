// The sender (dashboard/lapor/js/sender.js) with a fake socket, fake fetch and fake clock:
// batching, acks out of order and repeated, a socket that dies mid-batch, a storage error, the
// webhook when no socket opens, backoff with jitter, the triggers, a refused credential, photos.

import test from "node:test";
import assert from "node:assert/strict";
import { fakeClock, fakeSockets, fakeFetch, settle, acksOf } from "./fakes.mjs";
import { Outbox, makeRecord, MENUNGGU, TERKIRIM, DITERIMA, DITOLAK } from "../../../dashboard/lapor/js/outbox.js";
import {
  createSender,
  backoffDelay,
  BATCH_MAX,
  BACKOFF_BASE_MS,
  BACKOFF_CAP_MS,
  BACKOFF_MIN_MS,
  IDLE_CLOSE_MS,
  ACK_TIMEOUT_MS,
  SOCKET_SKIP_MS,
} from "../../../dashboard/lapor/js/sender.js";
import { createUuid7 } from "../../../dashboard/lapor/js/uuid7.js";
import { pingEvent, incidentEvent, custodyEvent } from "../../../dashboard/lapor/js/events.js";

const TOKEN = "pkd_secret-token";
const WS = "wss://posko.test/ws/field";
const HTTP = "https://posko.test";
const TPS = "16.08.01.1007-001";
const JPEG = { type: "image/jpeg", size: 120_000 };

function setup({ random = () => 0.5 } = {}) {
  const clock = fakeClock();
  const sockets = fakeSockets();
  const fetch = fakeFetch();
  const outbox = new Outbox();
  const uuid7 = createUuid7({ now: clock.now });
  const seen = { revoked: [], saved: 0, forgotten: 0, dropped: [] };
  let token = TOKEN;
  const sender = createSender({
    outbox,
    token: () => token,
    nrp: () => "85010000",
    urls: { ws: WS, http: HTTP },
    openSocket: (url, protocols) => sockets.open(url, protocols),
    fetch,
    clock,
    random,
    save: async (rs) => (seen.saved += rs.length),
    forget: async (rs) => (seen.forgotten += rs.length),
    loadPhoto: async () => JPEG,
    dropPhoto: async (id, index) => seen.dropped.push(index),
    onRevoked: (reason) => seen.revoked.push(reason),
  });
  const report = (n = 1) => {
    const made = [];
    for (let i = 0; i < n; i += 1) {
      const ev = pingEvent({
        id: uuid7(),
        time: new Date(clock.now()).toISOString(),
        tps: TPS,
        phase: "pemungutan",
        situation: "aman",
      });
      made.push(outbox.add(makeRecord(ev, { seq: outbox.nextSeq(), now: clock.now(), nrp: "85010000" })));
    }
    return made;
  };
  return { clock, sockets, fetch, outbox, sender, seen, report, setToken: (t) => (token = t), uuid7 };
}

const ids = (events) => events.map((e) => e.event_id);

/** Kick and let the subprotocol socket open. */
function connected(t) {
  t.sender.kick();
  const sock = t.sockets.last;
  t.sockets.accept(sock);
  return sock;
}

test("reports go over one socket that carries the credential as its subprotocol, never in the URL", () => {
  const t = setup();
  t.report();
  t.sender.kick();
  assert.equal(t.sockets.opened.length, 1);
  const sock = t.sockets.last;
  assert.equal(sock.url, WS);
  assert.ok(!sock.url.includes(TOKEN));
  assert.deepEqual(sock.protocols, ["posko.v1", "posko.bearer." + TOKEN]);
  assert.equal(t.sender.state, "connecting");
  t.sockets.accept(sock);
  assert.equal(sock.sent.length, 1);
  assert.equal(t.sender.state, "sending");
});

test("batches of at most 50 in creation order, one frame in flight, the next after its acks", () => {
  const t = setup();
  const rs = t.report(120);
  const sock = connected(t);
  assert.equal(sock.sent.length, 1, "one frame at a time");
  assert.equal(sock.sent[0].length, BATCH_MAX);
  assert.deepEqual(ids(sock.sent[0]), rs.slice(0, 50).map((r) => r.event_id));
  assert.ok(rs.slice(0, 50).every((r) => r.state === TERKIRIM));
  assert.ok(rs.slice(50).every((r) => r.state === MENUNGGU));
  t.sockets.receive(sock, acksOf(sock.sent[0]));
  assert.deepEqual(ids(sock.sent[1]), rs.slice(50, 100).map((r) => r.event_id));
  t.sockets.receive(sock, acksOf(sock.sent[1], "duplicate"));
  assert.deepEqual(ids(sock.sent[2]), rs.slice(100).map((r) => r.event_id));
  t.sockets.receive(sock, acksOf(sock.sent[2]));
  assert.equal(sock.sent.length, 3);
  assert.ok(rs.every((r) => r.state === DITERIMA));
  assert.equal(t.outbox.unsent(), 0);
  assert.equal(t.sender.state, "idle");
  // Every frame is the events exactly as they were made.
  assert.deepEqual(sock.sent.flat(), rs.map((r) => ({ ...r.event })));
});

test("acks out of order are matched by event_id; the frame ends when all of it is settled", () => {
  const t = setup();
  const [a, b, c, d] = t.report(4);
  const sock = connected(t);
  t.report(0);
  assert.equal(sock.sent[0].length, 4);
  const [ka, kb, kc, kd] = acksOf(sock.sent[0]);
  t.sockets.receive(sock, [kd, kb]);
  assert.deepEqual([a.state, b.state, c.state, d.state], [TERKIRIM, DITERIMA, TERKIRIM, DITERIMA]);
  const [e] = t.report(1);
  t.sender.kick();
  assert.equal(sock.sent.length, 1, "nothing more goes while the frame is open");
  t.sockets.receive(sock, [{ ...kc, result: "rejected", error: { field: "tps", reason: "unknown TPS code x" } }, ka]);
  assert.equal(c.state, DITOLAK);
  assert.equal(a.state, DITERIMA);
  assert.deepEqual(ids(sock.sent[1]), [e.event_id]);
});

test("repeated acks change nothing and send nothing twice", () => {
  const t = setup();
  const [a, b] = t.report(2);
  const sock = connected(t);
  const answer = acksOf(sock.sent[0]);
  t.sockets.receive(sock, answer);
  const [c] = t.report(1);
  t.sender.kick();
  assert.deepEqual(ids(sock.sent[1]), [c.event_id]);
  t.sockets.receive(sock, answer, answer); // the first frame's answer again, twice
  assert.equal(c.state, TERKIRIM, "another frame's acks do not settle this one");
  assert.equal(sock.sent.length, 2);
  assert.deepEqual([a.state, b.state], [DITERIMA, DITERIMA]);
  t.sockets.receive(sock, acksOf(sock.sent[1]));
  assert.equal(c.state, DITERIMA);
});

test("a socket that dies mid-batch: the same ids and device times go again on a new socket", () => {
  const t = setup();
  const rs = t.report(3);
  const first = connected(t);
  const frame = structuredClone(first.sent[0]);
  t.sockets.drop(first, 1006);
  assert.ok(rs.every((r) => r.state === MENUNGGU), "no ack, so not delivered");
  assert.equal(t.sender.state, "waiting");
  t.clock.advance(t.clock.pending()[0]); // the retry
  const second = t.sockets.last;
  assert.notEqual(second, first);
  t.sockets.accept(second);
  assert.deepEqual(second.sent[0], frame);
  t.sockets.receive(second, acksOf(second.sent[0], "duplicate"));
  assert.ok(rs.every((r) => r.state === DITERIMA && r.tries === 2));
});

test("a storage error frame sends the events it names again, after a pause, on the same socket", () => {
  const t = setup();
  const rs = t.report(2);
  const sock = connected(t);
  const frame = structuredClone(sock.sent[0]);
  t.sockets.receive(sock, {
    type: "error",
    error: { field: "storage", reason: "storage unavailable: OperationalError" },
    event_ids: ids(frame),
  });
  assert.ok(rs.every((r) => r.state === MENUNGGU));
  assert.equal(sock.sent.length, 1, "not at once: storage needs a moment");
  t.clock.advance(BACKOFF_BASE_MS);
  assert.equal(t.sockets.opened.length, 1);
  assert.deepEqual(sock.sent[1], frame);
  t.sockets.receive(sock, acksOf(frame));
  assert.ok(rs.every((r) => r.state === DITERIMA));
});

test("no answer in time: the socket is given up and the frame goes again", () => {
  const t = setup();
  const [r] = t.report(1);
  const sock = connected(t);
  t.clock.advance(ACK_TIMEOUT_MS);
  assert.equal(sock.closedWith.code, 4000);
  assert.equal(r.state, MENUNGGU);
  t.clock.advance(t.clock.pending()[0]); // the retry
  t.sockets.accept(t.sockets.last);
  assert.deepEqual(ids(t.sockets.last.sent[0]), [r.event_id]);
});

test("when no socket opens, the batch goes to the webhook with the bearer credential", async () => {
  const t = setup();
  const rs = t.report(3);
  t.sender.kick();
  t.sockets.drop(t.sockets.last, 1006); // refused before it opened (a proxy, a captive portal)
  assert.equal(t.sockets.opened.length, 1, "no second socket with the token in its URL");
  assert.equal(t.fetch.calls.length, 1);
  const call = t.fetch.last;
  assert.equal(call.url, HTTP + "/api/v1/events");
  assert.equal(call.init.method, "POST");
  assert.equal(call.init.headers.Authorization, "Bearer " + TOKEN);
  assert.deepEqual(ids(call.body), rs.map((r) => r.event_id));
  call.answer(200, acksOf(call.body));
  await settle();
  assert.ok(rs.every((r) => r.state === DITERIMA));
  // The socket failed and the webhook worked: for a while, reports go straight to the webhook.
  const [next] = t.report(1);
  const sockets = t.sockets.opened.length;
  t.sender.kick();
  assert.equal(t.sockets.opened.length, sockets);
  assert.deepEqual(ids(t.fetch.last.body), [next.event_id]);
  t.fetch.last.answer(207, acksOf(t.fetch.last.body));
  await settle();
  assert.equal(next.state, DITERIMA);
});

test("the webhook's rejections, storage error and lost network each do the right thing", async () => {
  const t = setup();
  const [a, b] = t.report(2);
  t.sender.kick();
  t.sockets.drop(t.sockets.last, 1006);
  t.fetch.last.fail(); // no network at all
  await settle();
  assert.equal(t.sender.state, "waiting");
  assert.deepEqual([a.state, b.state], [MENUNGGU, MENUNGGU]);
  t.clock.advance(60_000);
  for (const s of t.sockets.opened) if (s.readyState !== 3) t.sockets.drop(s, 1006);
  t.fetch.last.answer(503, { detail: { field: "storage", reason: "storage unavailable" } });
  await settle();
  assert.deepEqual([a.state, b.state], [MENUNGGU, MENUNGGU]);
  t.clock.advance(60_000);
  for (const s of t.sockets.opened) if (s.readyState !== 3) t.sockets.drop(s, 1006);
  const body = t.fetch.last.body;
  t.fetch.last.answer(422, [
    { type: "ack", event_id: body[0].event_id, result: "rejected", error: { field: "device_time", reason: "older than the allowed limit" } },
    { type: "ack", event_id: body[1].event_id, result: "stored", error: null },
  ]);
  await settle();
  assert.equal(a.state, DITOLAK);
  assert.equal(a.error.reason, "older than the allowed limit");
  assert.equal(b.state, DITERIMA);
});

test("backoff: full jitter under a ceiling that doubles from 1 s and stops at 60 s", () => {
  for (let attempt = 0; attempt < 12; attempt += 1) {
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
    assert.equal(backoffDelay(attempt, () => 0), BACKOFF_MIN_MS, "never zero: no spinning");
    assert.ok(backoffDelay(attempt, () => 0.999999) <= ceiling);
    assert.ok(backoffDelay(attempt, () => 0.999999) > ceiling * 0.99);
    for (let i = 0; i < 50; i += 1) {
      const d = backoffDelay(attempt, Math.random);
      assert.ok(d >= BACKOFF_MIN_MS && d <= ceiling, `${d} within [${BACKOFF_MIN_MS}, ${ceiling}]`);
    }
  }
  assert.equal(backoffDelay(1000, () => 0.999999), BACKOFF_CAP_MS - 1);
});

test("failures back off further each time, and a success starts again from the bottom", async () => {
  const t = setup({ random: () => 0.999999 });
  t.report(1);
  const delays = [];
  t.sender.kick();
  for (let i = 0; i < 8; i += 1) {
    t.sockets.drop(t.sockets.last, 1006); // the socket, then the webhook
      t.fetch.last.fail();
    await settle();
    delays.push(t.clock.pending()[0]);
    t.clock.advance(t.clock.pending()[0]);
  }
  assert.deepEqual(delays, [999, 1999, 3999, 7999, 15999, 31999, 59999, 59999]);
  t.sockets.accept(t.sockets.last);
  t.sockets.receive(t.sockets.last, acksOf(t.sockets.last.sent[0]));
  t.report(1);
  t.sender.kick();
  t.sockets.drop(t.sockets.last, 1006, "after it was open");
  assert.equal(t.clock.pending()[0], 999, "the count started again");
});

test("`online`, focus and the page becoming visible retry at once; hidden does not", async () => {
  const t = setup();
  t.report(1);
  const win = new EventTarget();
  const doc = new EventTarget();
  doc.visibilityState = "hidden";
  t.sender.listen(win, doc);
  const first = connected(t);
  t.sockets.drop(first, 1006);
  assert.equal(t.sender.state, "waiting");
  const before = t.sockets.opened.length;
  doc.dispatchEvent(new Event("visibilitychange"));
  assert.equal(t.sockets.opened.length, before, "hidden: nothing");
  win.dispatchEvent(new Event("online"));
  assert.equal(t.sockets.opened.length, before + 1, "online: at once, not after the backoff");
  t.sockets.drop(t.sockets.last, 1011, "server restarting"); // it had not opened: ?token= next
  for (const s of t.sockets.opened) if (s.readyState !== 3) t.sockets.drop(s, 1006);
  t.fetch.last.fail();
  await settle();
  assert.equal(t.sender.state, "waiting");
  const n = t.sockets.opened.length;
  doc.visibilityState = "visible";
  doc.dispatchEvent(new Event("visibilitychange"));
  win.dispatchEvent(new Event("focus"));
  assert.ok(t.sockets.opened.length > n, "visible / focus: at once");
});

test("the network coming back starts the backoff again from the bottom", async () => {
  const t = setup({ random: () => 0.999999 });
  t.report(1);
  const win = new EventTarget();
  t.sender.listen(win, new EventTarget());
  t.sender.kick();
  for (let i = 0; i < 8; i += 1) {
    // No network: the socket and the webhook fail, the waits grow to the cap.
    t.sockets.drop(t.sockets.last, 1006);
    t.fetch.last.fail();
    await settle();
    t.clock.advance(t.clock.pending()[0]);
  }
  t.sockets.drop(t.sockets.last, 1006);
  t.fetch.last.fail();
  await settle();
  assert.equal(t.clock.pending()[0], BACKOFF_CAP_MS - 1);
  win.dispatchEvent(new Event("online")); // the signal is back, and the server has just crashed
  t.sockets.drop(t.sockets.last, 1006);
  t.fetch.last.fail();
  await settle();
  assert.equal(t.clock.pending()[0], BACKOFF_BASE_MS - 1, "from the bottom, not the cap");
});

test("a refused credential (error frame on token, then 1008) stops everything and says so", () => {
  const t = setup();
  const rs = t.report(2);
  const sock = connected(t);
  t.sockets.receive(sock, { type: "error", error: { field: "token", reason: "revoked credential" } });
  t.sockets.drop(sock, 1008, "revoked credential");
  assert.equal(t.sender.state, "revoked");
  assert.deepEqual(t.seen.revoked, ["revoked credential"]);
  assert.ok(rs.every((r) => r.state === MENUNGGU), "kept, to go after a new enrolment");
  assert.deepEqual(t.clock.pending(), [], "no retry timer");
  t.report(1);
  t.sender.kick();
  assert.equal(t.sockets.opened.length, 1, "no new socket");
  assert.equal(t.fetch.calls.length, 0);
  // Enrolled again: what waited goes, with the new credential.
  t.setToken("pkd_new");
  t.sender.resume();
  const again = t.sockets.last;
  assert.deepEqual(again.protocols, ["posko.v1", "posko.bearer.pkd_new"]);
  t.sockets.accept(again);
  assert.equal(again.sent[0].length, 3);
});

test("a 401 from the webhook stops sending as a refused socket does", async () => {
  const t = setup();
  t.report(1);
  t.sender.kick();
  t.sockets.drop(t.sockets.last, 1006);
  t.fetch.last.answer(401, { detail: { field: "token", reason: "expired credential" } });
  await settle();
  assert.equal(t.sender.state, "revoked");
  assert.deepEqual(t.seen.revoked, ["expired credential"]);
  assert.deepEqual(t.clock.pending(), []);
});

test("the credential never goes in a socket's URL, whatever fails", async () => {
  const t = setup();
  t.report(2);
  t.sender.kick();
  t.sockets.drop(t.sockets.last, 1006); // the handshake failed (a proxy, an older server)
  t.fetch.last.fail();
  await settle();
  t.clock.advance(SOCKET_SKIP_MS + 60_000);
  t.sender.kick();
  for (const s of t.sockets.opened) {
    assert.equal(s.url, WS);
    assert.ok(!s.url.includes(TOKEN) && !s.url.includes("token"), s.url);
  }
});

test("an idle socket is closed so the radio can sleep; the next report opens another", () => {
  const t = setup();
  t.report(1);
  const sock = connected(t);
  t.sockets.receive(sock, acksOf(sock.sent[0]));
  t.clock.advance(IDLE_CLOSE_MS - 1);
  assert.equal(sock.closedWith, null);
  t.clock.advance(1);
  assert.equal(sock.closedWith.code, 1000);
  t.sockets.drop(sock, 1000);
  assert.equal(t.sender.state, "idle");
  assert.deepEqual(t.clock.pending(), []);
  t.report(1);
  t.sender.kick();
  assert.equal(t.sockets.opened.length, 2);
});

test("photos go after their incident's ack, one PUT each; a 404 and a lost network are retried", async () => {
  const t = setup();
  const ev = incidentEvent({
    id: t.uuid7(),
    time: new Date(t.clock.now()).toISOString(),
    category: "kericuhan",
    severity: 3,
    tps: TPS,
    description: "Massa berkumpul di depan TPS",
  });
  const inc = t.outbox.add(makeRecord(ev, { seq: 1, now: t.clock.now(), photos: 2 }));
  const sock = connected(t);
  assert.equal(t.fetch.calls.length, 0, "no photo before the incident is stored");
  t.sockets.receive(sock, acksOf(sock.sent[0]));
  await settle();
  const url = (i) => `${HTTP}/api/v1/incident-reports/${inc.event_id}/photos/${i}`;
  assert.equal(t.fetch.last.url, url(0));
  assert.equal(t.fetch.last.init.method, "PUT");
  assert.equal(t.fetch.last.init.headers["Content-Type"], "image/jpeg");
  assert.equal(t.fetch.last.init.headers.Authorization, "Bearer " + TOKEN);
  assert.equal(t.fetch.last.body, JPEG);
  t.fetch.last.answer(404, { detail: { field: "event_id", reason: "no incident report with this event id yet" } });
  await settle();
  assert.equal(inc.photos[0].state, MENUNGGU, "not stored yet: later");
  t.clock.advance(t.clock.pending()[0]);
  await settle();
  assert.equal(t.fetch.last.url, url(0), "the same photo again");
  t.fetch.last.answer(201, { result: "stored", sha256: "ab" });
  await settle();
  assert.equal(inc.photos[0].state, DITERIMA);
  assert.deepEqual(t.seen.dropped, [0], "its bytes leave the phone");
  assert.equal(t.fetch.last.url, url(1));
  t.fetch.last.fail(); // the signal went mid-upload
  await settle();
  t.clock.advance(t.clock.pending()[0]);
  await settle();
  assert.equal(t.fetch.last.url, url(1), "resumed at the photo that failed");
  t.fetch.last.answer(200, { result: "duplicate", sha256: "cd" });
  await settle();
  assert.equal(inc.photos[1].state, DITERIMA);
  assert.equal(t.outbox.unsent(), 0);
});

test("a segel step's photo of the seals goes to the custody photo address after the step's ack", async () => {
  const t = setup();
  const ev = custodyEvent({ id: t.uuid7(), time: new Date(t.clock.now()).toISOString(), tps: TPS, step: "segel", seals: "SG-1 SG-2" });
  const step = t.outbox.add(makeRecord(ev, { seq: 1, now: t.clock.now(), photos: 1 }));
  const sock = connected(t);
  assert.equal(t.fetch.calls.length, 0, "no photo before the step is stored");
  t.sockets.receive(sock, acksOf(sock.sent[0]));
  await settle();
  assert.equal(t.fetch.last.url, `${HTTP}/api/v1/custody/${step.event_id}/photos/0`);
  assert.equal(t.fetch.last.init.method, "PUT");
  assert.equal(t.fetch.last.body, JPEG);
  t.fetch.last.answer(415, { detail: { field: "body", reason: "not a JPEG, PNG or WebP image" } });
  await settle();
  assert.equal(step.photos[0].state, DITOLAK, "refused for good: marked, not retried");
  assert.equal(step.photos[0].error.field, "body");
  assert.equal(t.fetch.calls.length, 1);
  assert.equal(t.outbox.unsent(), 0);
});

test("a photo the server refuses for good is marked with its reason and the rest go on", async () => {
  const t = setup();
  const ev = incidentEvent({
    id: t.uuid7(),
    time: new Date(t.clock.now()).toISOString(),
    category: "logistik",
    severity: 2,
    tps: TPS,
    description: "Kotak suara rusak",
  });
  const inc = t.outbox.add(makeRecord(ev, { seq: 1, now: t.clock.now(), photos: 2 }));
  const sock = connected(t);
  t.sockets.receive(sock, acksOf(sock.sent[0]));
  await settle();
  t.fetch.last.answer(415, { detail: { field: "body", reason: "not a JPEG, PNG or WebP image" } });
  await settle();
  assert.equal(inc.photos[0].state, DITOLAK);
  assert.equal(inc.photos[0].error.status, 415);
  assert.ok(t.fetch.last.url.endsWith("/photos/1"));
});

test("a frame the server refuses as a whole is split until one report stands alone", () => {
  const t = setup();
  const rs = t.report(4);
  const sock = connected(t);
  const whole = { type: "ack", event_id: null, result: "rejected", error: { field: "frame", reason: "larger than the limit of 262144 bytes" } };
  t.sockets.receive(sock, whole);
  assert.equal(sock.sent[1].length, 2, "halved");
  t.sockets.receive(sock, acksOf(sock.sent[1]));
  t.sockets.receive(sock, whole);
  assert.equal(sock.sent[3].length, 1);
  t.sockets.receive(sock, whole);
  assert.equal(rs[2].state, DITOLAK);
  assert.equal(rs[2].error.field, "frame");
  assert.deepEqual(ids(sock.sent[4]), [rs[3].event_id]);
});

test("a report made while a photo uploads goes at once, not after the photo", async () => {
  const t = setup();
  const ev = incidentEvent({
    id: t.uuid7(),
    time: new Date(t.clock.now()).toISOString(),
    category: "kericuhan",
    severity: 3,
    tps: TPS,
    description: "Massa berkumpul",
  });
  t.outbox.add(makeRecord(ev, { seq: 1, now: t.clock.now(), photos: 1 }));
  const sock = connected(t);
  t.sockets.receive(sock, acksOf(sock.sent[0]));
  await settle();
  const upload = t.fetch.last;
  assert.ok(upload.url.endsWith("/photos/0"), "the photo is on its way (slowly, on 2G)");
  const [sos] = t.report(1);
  t.sender.kick();
  assert.deepEqual(ids(sock.sent[1]), [sos.event_id], "the report did not wait for the photo");
  t.sockets.receive(sock, acksOf(sock.sent[1]));
  assert.equal(sos.state, DITERIMA);
  upload.answer(201, { result: "stored", sha256: "ab" });
  await settle();
  assert.equal(t.outbox.unsent(), 0);
});

test("an answer to a request made before sending stopped is ignored after a new start", async () => {
  const t = setup();
  const rs = t.report(2);
  t.sender.kick();
  t.sockets.drop(t.sockets.last, 1006);
  const old = t.fetch.last; // the webhook, still waiting for its answer
  t.sender.revoke("revoked credential");
  assert.ok(rs.every((r) => r.state === MENUNGGU));
  t.sender.resume(); // enrolled again
  const sock = t.sockets.last;
  t.sockets.accept(sock);
  assert.deepEqual(ids(sock.sent[0]), rs.map((r) => r.event_id));
  old.answer(200, acksOf(old.body));
  await settle();
  assert.deepEqual(t.sender.inflight, { ids: rs.map((r) => r.event_id), via: "ws" }, "the new frame stands");
  t.sockets.receive(sock, acksOf(sock.sent[0], "duplicate"));
  assert.ok(rs.every((r) => r.state === DITERIMA));
  assert.equal(sock.sent.length, 1);
});
