// The wire events the phone sends (schemas/events.py: PingIn, IncidentIn), built in one place.
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
