// The outbox (dashboard/lapor/js/outbox.js): a report's whole life, its order, ack matching,
// a storage error, rejection kept until dismissed, the history cap, and a resend that keeps
// the event_id and device_time of the tap.

import test from "node:test";
import assert from "node:assert/strict";
import {
  Outbox,
  makeRecord,
  MENUNGGU,
  TERKIRIM,
  DITERIMA,
  DITOLAK,
  HISTORY_MAX,
} from "../../../dashboard/lapor/js/outbox.js";
import { createUuid7 } from "../../../dashboard/lapor/js/uuid7.js";
import { pingEvent, incidentEvent } from "../../../dashboard/lapor/js/events.js";

const TPS = "16.08.01.1007-001";
let t = 1_732_665_600_000;
const uuid7 = createUuid7({ now: () => t });

function ping(box, extra = {}) {
  t += 1000;
  const ev = pingEvent({ id: uuid7(), time: new Date(t).toISOString(), tps: TPS, phase: "persiapan", situation: "aman" });
  return box.add(makeRecord(ev, { seq: box.nextSeq(), now: t, nrp: "85010000", ...extra }));
}

function ack(r, result = "stored", error = null) {
  return { type: "ack", event_id: r.event_id, result, error, flags: [] };
}

test("a report goes menunggu → terkirim → diterima, and only the ack moves it there", () => {
  const box = new Outbox();
  const r = ping(box);
  assert.equal(r.state, MENUNGGU);
  assert.equal(box.unsent(), 1);
  box.markSent([r.event_id], t);
  assert.equal(r.state, TERKIRIM);
  assert.equal(r.tries, 1);
  assert.equal(box.unsent(), 1, "sent is not delivered");
  const changed = box.ack(ack(r, "stored"), t + 5);
  assert.equal(changed, r);
  assert.equal(r.state, DITERIMA);
  assert.equal(r.done_at, t + 5);
  assert.equal(box.unsent(), 0);
});

test("a duplicate is as good as stored: the server has it", () => {
  const box = new Outbox();
  const r = ping(box);
  box.markSent([r.event_id], t);
  box.ack({ ...ack(r, "duplicate"), flags: ["late"] }, t);
  assert.equal(r.state, DITERIMA);
  assert.equal(r.result, "duplicate");
  assert.deepEqual(r.flags, ["late"]);
});

test("batches take the queued reports in the order they were made, never twice", () => {
  const box = new Outbox();
  const rs = Array.from({ length: 120 }, () => ping(box));
  const first = box.nextBatch({ max: 50 });
  assert.deepEqual(first.map((r) => r.event_id), rs.slice(0, 50).map((r) => r.event_id));
  box.markSent(first.map((r) => r.event_id), t);
  const second = box.nextBatch({ max: 50 });
  assert.deepEqual(second.map((r) => r.event_id), rs.slice(50, 100).map((r) => r.event_id));
  box.markSent(second.map((r) => r.event_id), t);
  assert.equal(box.nextBatch({ max: 50 }).length, 20);
  // Creation order is the sequence, not the id: a clock set back does not reorder them.
  assert.deepEqual(box.list().map((r) => r.seq), rs.map((r) => r.seq));
});

test("a batch stops at its byte limit but always carries one report", () => {
  const box = new Outbox();
  for (let i = 0; i < 5; i += 1) ping(box);
  const one = JSON.stringify(box.list()[0].event).length + 1;
  assert.equal(box.nextBatch({ max: 50, maxBytes: 2 + one * 3 }).length, 3);
  assert.equal(box.nextBatch({ max: 50, maxBytes: 10 }).length, 1);
});

test("acks are matched by event_id, whatever their order; a repeated or unknown ack changes nothing", () => {
  const box = new Outbox();
  const [a, b, c] = [ping(box), ping(box), ping(box)];
  box.markSent([a, b, c].map((r) => r.event_id), t);
  assert.equal(box.ack(ack(c), t), c);
  assert.equal(box.ack(ack(a, "rejected", { field: "tps", reason: "unknown TPS code X" }), t), a);
  assert.equal(box.ack(ack(b), t), b);
  assert.deepEqual([a.state, b.state, c.state], [DITOLAK, DITERIMA, DITERIMA]);
  // The same acks again (a resend's answer) leave everything as it is.
  assert.equal(box.ack(ack(a), t), null, "a rejection is not overturned by a later ack");
  assert.equal(box.ack(ack(c, "rejected", { field: "x", reason: "y" }), t), null);
  assert.equal(c.state, DITERIMA);
  assert.equal(box.ack({ type: "ack", event_id: "0190aaaa-0000-7000-8000-000000000000", result: "stored" }, t), null);
  assert.equal(box.ack({ type: "ack", event_id: null, result: "rejected" }, t), null);
  // Upper-case ids (any UUID writer) match too.
  const d = ping(box);
  box.markSent([d.event_id], t);
  assert.equal(box.ack({ ...ack(d), event_id: d.event_id.toUpperCase() }, t), d);
});

test("a storage error puts the frame back in the queue with the same ids and device times", () => {
  const box = new Outbox();
  const rs = [ping(box), ping(box)];
  const frozen = rs.map((r) => JSON.stringify(r.event));
  box.markSent(rs.map((r) => r.event_id), t);
  assert.equal(box.nextBatch().length, 0, "nothing left to send while they are on their way");
  const back = box.requeue(rs.map((r) => r.event_id));
  assert.equal(back.length, 2);
  assert.ok(rs.every((r) => r.state === MENUNGGU));
  t += 3_600_000; // an hour later, the resend
  const again = box.nextBatch();
  assert.deepEqual(again.map((r) => JSON.stringify(r.event)), frozen);
  box.markSent(again.map((r) => r.event_id), t);
  assert.ok(rs.every((r) => r.tries === 2));
  assert.throws(() => {
    rs[0].event.device_time = "2030-01-01T00:00:00Z";
  }, TypeError);
});

test("what was on its way when the app stopped is queued again when it starts", () => {
  const box = new Outbox();
  const [a, b] = [ping(box), ping(box)];
  box.markSent([a.event_id, b.event_id], t);
  box.ack(ack(b), t);
  const stored = structuredClone(box.list()); // as IndexedDB gives it back
  const reopened = new Outbox(stored);
  assert.equal(reopened.get(a.event_id).state, MENUNGGU);
  assert.equal(reopened.get(b.event_id).state, DITERIMA);
  assert.equal(reopened.nextSeq(), b.seq + 1);
  assert.equal(reopened.get(a.event_id).event.device_time, a.event.device_time);
});

test("a rejected report stays until the officer dismisses it; nothing else can be dismissed", () => {
  const box = new Outbox();
  const [a, b, c] = [ping(box), ping(box), ping(box)];
  box.markSent([a.event_id, b.event_id], t);
  box.ack(ack(a, "rejected", { field: "device_time", reason: "older than the allowed limit" }), t);
  box.ack(ack(b), t);
  box.prune(0);
  assert.equal(box.get(a.event_id).state, DITOLAK, "pruning the history never drops a rejection");
  assert.deepEqual(box.get(a.event_id).error, { field: "device_time", reason: "older than the allowed limit" });
  assert.equal(box.dismiss(c.event_id), null, "a queued report cannot be thrown away");
  assert.equal(box.dismiss("nope"), null);
  assert.equal(box.dismiss(a.event_id), a);
  assert.equal(box.get(a.event_id), null);
  assert.equal(box.counts()[DITOLAK], 0);
});

test("a frame refused as a whole rejects its one report with the server's words", () => {
  const box = new Outbox();
  const a = ping(box);
  box.markSent([a.event_id], t);
  box.reject([a.event_id], { field: "frame", reason: "larger than the limit of 262144 bytes" }, t);
  assert.equal(a.state, DITOLAK);
  assert.equal(a.error.field, "frame");
});

test("reports made under another officer's enrolment wait, are not sent, and can be dismissed", () => {
  const box = new Outbox();
  const old = ping(box, { nrp: "85010001" });
  const mine = ping(box);
  assert.deepEqual(box.nextBatch({ nrp: "85010000" }).map((r) => r.event_id), [mine.event_id]);
  assert.equal(box.dismiss(old.event_id, { nrp: "85010000" }), old);
  assert.equal(box.dismiss(mine.event_id, { nrp: "85010000" }), null);
});

test("accepted reports are kept as history, the last 100, and can be cleared", () => {
  const box = new Outbox();
  const rs = Array.from({ length: HISTORY_MAX + 30 }, () => ping(box));
  const waiting = ping(box);
  box.markSent(rs.map((r) => r.event_id), t);
  for (const r of rs) box.ack(ack(r), t);
  const gone = box.prune();
  assert.equal(gone.length, 30);
  assert.deepEqual(gone.map((r) => r.event_id), rs.slice(0, 30).map((r) => r.event_id), "the oldest go");
  assert.equal(box.counts()[DITERIMA], HISTORY_MAX);
  const cleared = box.clearHistory();
  assert.equal(cleared.length, HISTORY_MAX);
  assert.deepEqual(box.list().map((r) => r.event_id), [waiting.event_id], "what waits stays");
});

test("photos go after their incident's ack, in order, and keep it in the history until settled", () => {
  const box = new Outbox();
  t += 1000;
  const ev = incidentEvent({
    id: uuid7(),
    time: new Date(t).toISOString(),
    category: "kericuhan",
    severity: 3,
    tps: TPS,
    description: "Massa berkumpul",
  });
  const inc = box.add(makeRecord(ev, { seq: box.nextSeq(), now: t, photos: 2 }));
  assert.equal(box.nextPhoto(), null, "not before the incident is stored");
  assert.equal(box.unsent(), 1);
  box.markSent([inc.event_id], t);
  box.ack(ack(inc), t);
  assert.equal(box.unsent(), 2, "its two photos");
  const first = box.nextPhoto();
  assert.deepEqual([first.record, first.photo.index], [inc, 0]);
  assert.deepEqual(box.prune(0), [], "kept while a photo waits");
  box.photoDone(inc.event_id, 0, DITERIMA);
  assert.equal(box.nextPhoto().photo.index, 1);
  box.photoDone(inc.event_id, 1, DITOLAK, { field: "photo", reason: "x", status: 415 });
  assert.equal(box.nextPhoto(), null);
  assert.equal(box.photoDone(inc.event_id, 1, DITERIMA), null, "settled stays settled");
  assert.equal(box.unsent(), 0);
  assert.deepEqual(box.prune(0), [inc]);
});

test("a report without its event_id or device_time is refused when made", () => {
  assert.throws(() => makeRecord({ type: "ping", tps: TPS }, { seq: 1, now: t }));
  const box = new Outbox();
  const r = ping(box);
  assert.throws(() => box.add(makeRecord(r.event, { seq: 9, now: t })), /already/);
});
