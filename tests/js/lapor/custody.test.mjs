// The custody steps the phone builds (js/events.js: custodyEvent), checked without a browser
// against what the server takes (schemas/events.py: CustodyIn).

import test from "node:test";
import assert from "node:assert/strict";
import { custodyEvent, nextCustodyStep, listOf, CUSTODY_STEPS } from "../../../dashboard/lapor/js/events.js";

const ID = "0193706b-3e80-7abc-8def-0123456789ab";
const TIME = "2024-11-27T12:10:00.000Z";
const TPS = "16.08.03.2001-001";

test("a seal step carries the seal numbers typed in one box, split on spaces and commas", () => {
  assert.deepEqual(custodyEvent({ id: ID, time: TIME, tps: TPS, step: "segel", seals: " A-77, A-78;A-79  0012 " }), {
    type: "custody",
    event_id: ID,
    device_time: TIME,
    tps: TPS,
    step: "segel",
    seal_numbers: ["A-77", "A-78", "A-79", "0012"],
  });
  // Nothing typed: an empty list, which the server refuses by its field (seal_numbers).
  assert.deepEqual(custodyEvent({ id: ID, time: TIME, tps: TPS, step: "segel", seals: "  " }).seal_numbers, []);
  assert.equal(listOf("x ".repeat(80)).length, 50, "the server's limit of 50 seals");
  assert.equal(listOf("y".repeat(100))[0].length, 80);
});

test("a departure carries the vehicle and only escorts' NRPs that look like NRPs", () => {
  const ev = custodyEvent({
    id: ID,
    time: TIME,
    tps: TPS,
    step: "berangkat",
    vehicle: "  BG 1234 XY ",
    escorts: "85010001, abc 8501",
    seals: "ignored",
    fix: { lat: -4.1461234567, lon: 104.6391234567 },
  });
  assert.deepEqual(ev, {
    type: "custody",
    event_id: ID,
    device_time: TIME,
    tps: TPS,
    step: "berangkat",
    vehicle: "BG 1234 XY",
    escort_nrps: ["85010001"],
    lat: -4.146123,
    lon: 104.639123,
  });
  const bare = custodyEvent({ id: ID, time: TIME, tps: TPS, step: "berangkat", vehicle: " ", escorts: "" });
  assert.ok(!("vehicle" in bare) && !("escort_nrps" in bare));
});

test("an arrival is only the step; a handover carries its BA number and receiver when given", () => {
  assert.deepEqual(Object.keys(custodyEvent({ id: ID, time: TIME, tps: TPS, step: "tiba", receiver: "x" })).sort(), [
    "device_time",
    "event_id",
    "step",
    "tps",
    "type",
  ]);
  const full = custodyEvent({ id: ID, time: TIME, tps: TPS, step: "serah_terima", baNumber: " BA-017 ", receiver: " Siti Aminah " });
  assert.equal(full.ba_number, "BA-017");
  assert.equal(full.receiver_name, "Siti Aminah");
  // Without a BA number it is still sent: the server stores it and alerts the post.
  const noBa = custodyEvent({ id: ID, time: TIME, tps: TPS, step: "serah_terima", baNumber: "", receiver: "Siti" });
  assert.ok(!("ba_number" in noBa));
  assert.equal(custodyEvent({ id: ID, time: TIME, tps: TPS, step: "serah_terima", receiver: "n".repeat(200) }).receiver_name.length, 120);
});

test("the next step follows the ones done, in any order they were sent", () => {
  assert.deepEqual(CUSTODY_STEPS, ["segel", "berangkat", "tiba", "serah_terima"]);
  assert.equal(nextCustodyStep([]), "segel");
  assert.equal(nextCustodyStep(["segel"]), "berangkat");
  assert.equal(nextCustodyStep(["tiba", "segel"]), "serah_terima");
  assert.equal(nextCustodyStep(["serah_terima"]), null);
});

test("a custody step tells the home screen the phase it proves, as the server's merge does", async () => {
  const { phaseOf, foldPhase } = await import("../../../dashboard/lapor/js/events.js");
  const seal = { kind: "custody", event: { step: "segel" } };
  const handed = { kind: "custody", event: { step: "serah_terima" } };
  const ping = { kind: "ping", event: { phase: "penghitungan" } };
  assert.equal(phaseOf(seal), "selesai_hitung");
  assert.equal(foldPhase("penghitungan", [seal, ping].map(phaseOf)), "selesai_hitung");
  assert.equal(foldPhase("selesai_hitung", [handed, seal].map(phaseOf)), "diterima_ppk");
});
