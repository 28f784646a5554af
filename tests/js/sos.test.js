// The SOS band's pure parts and its alarm (dashboard/assets/live/75-sos.js), without a browser:
// which alerts stand, what the band says, and the beep pattern on a fake AudioContext and clock.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { live, fakeClock, settle } = require("./fakes.js");

const { standing, lines, createAlarm } = live("75-sos");
const { createStore } = live("30-store");

const WORDS = {
  wib: "WIB",
  ago_s: "{n} dtk lalu",
  ago_m: "{n} mnt lalu",
  ago_h: "{n} jam {m} mnt lalu",
  sos_position: "posisi {lat}, {lon}",
  sos_no_position: "lokasi tidak diketahui",
  sos_unknown: "petugas tidak dikenal",
};
const RAISED = "2024-11-27T01:05:00+00:00"; // 08:05 WIB

function sosAlert(id, extra = {}) {
  return {
    id,
    kind: "sos",
    subject: String(100 + id),
    severity: "critical",
    raised_at: RAISED,
    cleared_at: null,
    acknowledged_at: null,
    version: 0,
    detail: {
      nrp: "85010000",
      name: "Petugas 0",
      rank: "Bripka",
      unit: "Polsek Belitang",
      device_time: "2024-11-27T01:04:30+00:00",
      tps: null,
      lat: null,
      lon: null,
    },
    ...extra,
  };
}

test("only open SOS alerts nobody acknowledged stand, the oldest first", () => {
  const alerts = new Map([
    [1, sosAlert(1, { raised_at: "2024-11-27T01:09:00+00:00" })],
    [2, sosAlert(2)],
    [3, sosAlert(3, { acknowledged_at: "2024-11-27T01:06:00+00:00" })],
    [4, sosAlert(4, { cleared_at: "2024-11-27T01:06:00+00:00" })],
    [5, { ...sosAlert(5), kind: "incident_severe" }],
  ]);
  assert.deepEqual(
    standing(alerts).map((a) => a.id),
    [2, 1]
  );
});

test("the band names the officer, the TPS or position, and the time in WIB with its age", () => {
  const at = Date.parse("2024-11-27T01:07:30+00:00");
  const label = (code) => "Dusun Martapura TPS 001 [" + code + "]";
  const o = { words: WORDS, tpsLabel: label, serverNow: at };
  const nowhere = lines(sosAlert(1), o);
  assert.equal(nowhere.who, "Bripka Petugas 0 · NRP 85010000 · Polsek Belitang");
  assert.equal(nowhere.where, "lokasi tidak diketahui");
  assert.equal(nowhere.when, "08:04 WIB · 3 mnt lalu");
  const placed = lines(sosAlert(2, { detail: { ...sosAlert(2).detail, lat: -4.15, lon: 104.64 } }), o);
  assert.equal(placed.where, "posisi -4.15000, 104.64000");
  const atTps = lines(sosAlert(3, { detail: { ...sosAlert(3).detail, tps: "16.08.01.1007-001" } }), o);
  assert.equal(atTps.where, "TPS Dusun Martapura TPS 001 [16.08.01.1007-001] (16.08.01.1007-001)");
  const anonymous = lines(sosAlert(4, { detail: {} }), o);
  assert.equal(anonymous.who, "petugas tidak dikenal");
  assert.equal(anonymous.when, "08:05 WIB · 2 mnt lalu"); // no device time: when it was raised
});

/** An AudioContext that records the beeps it was asked to play. */
function fakeAudio(state = "running") {
  const ctx = {
    state,
    currentTime: 0,
    destination: {},
    started: [],
    createOscillator() {
      const osc = {
        type: null,
        frequency: { value: 0 },
        connect() {},
        start(at) {
          ctx.started.push({ hz: osc.frequency.value, at, type: osc.type });
        },
        stop() {},
      };
      return osc;
    },
    createGain() {
      return {
        gain: { setValueAtTime() {}, exponentialRampToValueAtTime() {} },
        connect() {},
      };
    },
    resume() {
      ctx.state = "running";
      return Promise.resolve();
    },
  };
  return ctx;
}

/** setInterval on the fake clock (it has timeouts only). */
function intervals(clock) {
  const live = new Set();
  let next = 0;
  return {
    setInterval(fn, ms) {
      next += 1;
      const id = next;
      live.add(id);
      const arm = () =>
        clock.setTimeout(() => {
          if (!live.has(id)) return;
          fn();
          arm();
        }, ms);
      arm();
      return id;
    },
    clearInterval(id) {
      live.delete(id);
    },
  };
}

test("the alarm beeps a pattern at once and every 2 s until it is set off", () => {
  const clock = fakeClock();
  const audio = fakeAudio();
  const alarm = createAlarm({ makeContext: () => audio, ...intervals(clock) });
  assert.equal(alarm.on, false);
  assert.equal(audio.started.length, 0); // nothing made or played before an SOS
  alarm.set(true);
  assert.equal(alarm.on, true);
  assert.deepEqual(
    audio.started.map((b) => b.hz),
    [880, 660, 880]
  );
  clock.advance(1999);
  assert.equal(alarm.patterns, 1);
  clock.advance(1);
  assert.equal(alarm.patterns, 2);
  alarm.set(true); // still on: not a second pattern running beside the first
  clock.advance(4000);
  assert.equal(alarm.patterns, 4);
  alarm.set(false);
  clock.advance(10000);
  assert.equal(alarm.patterns, 4);
  assert.equal(alarm.on, false);
});

test("a browser that holds sound until a click: muted, then beeping after the click", async () => {
  const clock = fakeClock();
  const audio = fakeAudio("suspended");
  const alarm = createAlarm({ makeContext: () => audio, ...intervals(clock) });
  alarm.set(true);
  clock.advance(4000);
  assert.equal(alarm.patterns, 0);
  assert.equal(alarm.on, true);
  assert.equal(alarm.muted, true);
  assert.equal(alarm.sound, "suspended");
  alarm.resume(); // the page's click handler
  await settle();
  assert.equal(alarm.muted, false);
  assert.equal(alarm.patterns, 1); // at once, not at the next pattern
  clock.advance(2000);
  assert.equal(alarm.patterns, 2);
});

test("without Web Audio the alarm is still on (the band shows it), only silent", () => {
  const clock = fakeClock();
  const alarm = createAlarm({
    makeContext: () => {
      throw new Error("no audio device");
    },
    ...intervals(clock),
  });
  alarm.set(true);
  clock.advance(2000);
  assert.equal(alarm.on, true);
  assert.equal(alarm.muted, true);
  assert.equal(alarm.sound, "none");
});

test("an SOS acknowledged on another screen leaves this one's band with the next delta", () => {
  const store = createStore({ now: () => 0 });
  const delta = (seq, alerts) => ({ type: "delta", seq, at: RAISED, tps: [], incidents: [], log: [], alerts });
  assert.equal(store.applyDelta(delta(1, [sosAlert(7)])), true);
  assert.deepEqual(
    standing(store.alerts).map((a) => a.id),
    [7]
  );
  const seen = { ...sosAlert(7), acknowledged_at: "2024-11-27T01:06:00+00:00", version: 1 };
  store.applyDelta(delta(2, [seen]));
  assert.deepEqual(standing(store.alerts), []);
  // An older copy arriving late does not bring it back.
  store.applyDelta(delta(3, [sosAlert(7)]));
  assert.deepEqual(standing(store.alerts), []);
});
