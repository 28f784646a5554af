// The wire events the phone sends (schemas/events.py: PingIn, IncidentIn, CustodyIn), built in
// one place.
// event_id and device_time are given by the caller at the moment of the tap and never change.

import { PHASES } from "./i18n.js";

function where(ev, fix) {
  if (fix && Number.isFinite(fix.lat) && Number.isFinite(fix.lon)) {
    ev.lat = Math.round(fix.lat * 1e6) / 1e6;
    ev.lon = Math.round(fix.lon * 1e6) / 1e6;
  }
  return ev;
}

/** A status ping: a TPS's phase and situation, an optional note, the location if known. */
export function pingEvent({ id, time, tps, phase, situation, note, fix }) {
  const ev = { type: "ping", event_id: id, device_time: time, tps, phase, situation };
  const text = (note || "").trim();
  if (text) ev.note = text.slice(0, 500);
  return where(ev, fix);
}

/** An incident report: at a TPS, or at the phone's location. */
export function incidentEvent({ id, time, category, severity, tps, description, fix }) {
  const ev = {
    type: "incident",
    event_id: id,
    device_time: time,
    category,
    severity,
    description: String(description || "").trim().slice(0, 2000),
  };
  if (tps) ev.tps = tps;
  return where(ev, fix);
}

export const CUSTODY_STEPS = ["segel", "berangkat", "tiba", "serah_terima"];

/** Words typed into one box ("A1, A2 A3") as a list, at most `max` of `len` characters each. */
export function listOf(text, max = 50, len = 80) {
  return String(text || "")
    .split(/[\s,;]+/)
    .map((w) => w.trim().slice(0, len))
    .filter(Boolean)
    .slice(0, max);
}

/**
 * A custody step of a TPS's ballot boxes (docs/custody.md): sealed (seal numbers), departed
 * (vehicle, escorting officers' NRPs), arrived at the PPK, handed over (berita acara number,
 * the receiving official). Only the step's own fields go; empty ones are left out, so the
 * server refuses a seal without numbers or a handover without a name by its field.
 */
export function custodyEvent({ id, time, tps, step, seals, vehicle, escorts, baNumber, receiver, fix }) {
  const ev = { type: "custody", event_id: id, device_time: time, tps, step };
  const text = (v, n) => String(v || "").trim().slice(0, n);
  if (step === "segel") ev.seal_numbers = listOf(seals);
  if (step === "berangkat") {
    if (text(vehicle, 80)) ev.vehicle = text(vehicle, 80);
    const nrps = listOf(escorts, 20, 18).filter((n) => /^[0-9]{8,18}$/.test(n));
    if (nrps.length) ev.escort_nrps = nrps;
  }
  if (step === "serah_terima") {
    if (text(baNumber, 80)) ev.ba_number = text(baNumber, 80);
    if (text(receiver, 120)) ev.receiver_name = text(receiver, 120);
  }
  return where(ev, fix);
}

// The phase each step proves the TPS has reached (schemas/enums.py: CUSTODY_PHASE).
export const CUSTODY_PHASE = {
  segel: "selesai_hitung",
  berangkat: "kotak_dikawal",
  tiba: "kotak_dikawal",
  serah_terima: "diterima_ppk",
};

/** The phase a report of this phone says its TPS reached: a ping's, or its custody step's. */
export function phaseOf(record) {
  const e = record.event;
  return record.kind === "custody" ? CUSTODY_PHASE[e.step] || null : e.phase;
}

/** The custody step that comes after the ones a TPS's boxes went through (null when done). */
export function nextCustodyStep(done = []) {
  const last = Math.max(-1, ...done.map((s) => CUSTODY_STEPS.indexOf(s)));
  return CUSTODY_STEPS[last + 1] || null;
}

/** SOS: a severity-4 incident; the server knows who sends it, the location goes if known. */
export function sosEvent({ id, time, fix }) {
  return where(
    {
      type: "incident",
      event_id: id,
      device_time: time,
      category: "lainnya",
      severity: 4,
      sos: true,
      description: "SOS",
      tps: null,
    },
    fix,
  );
}

export function phaseRank(phase) {
  return PHASES.indexOf(phase);
}

/** The phase a TPS goes to next, or null after the last; `ditunda` resumes at `resume`. */
export function nextPhase(phase, resume = "pemungutan") {
  if (!phase) return PHASES[0];
  if (phase === "ditunda") return resume && resume !== "ditunda" ? resume : "pemungutan";
  const i = PHASES.indexOf(phase);
  return i < 0 ? PHASES[0] : PHASES[i + 1] || null;
}

/**
 * A TPS's phase after the server's and then the officer's own later pings, as the server
 * judges it (backend/tps/state.py): the highest phase by rank, or `ditunda` when a
 * postponement came after it.
 */
export function foldPhase(serverPhase, laterPhases = []) {
  let highest = serverPhase && serverPhase !== "ditunda" ? serverPhase : null;
  let postponed = serverPhase === "ditunda";
  for (const p of laterPhases) {
    if (p === "ditunda") {
      postponed = true;
    } else if (PHASES.includes(p)) {
      if (!highest || phaseRank(p) > phaseRank(highest)) highest = p;
      postponed = false;
    }
  }
  return postponed ? "ditunda" : highest;
}
