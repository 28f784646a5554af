// The server's clock as the phone sees it: the offset for "Status Posko", and the time a
// report is stamped with. Pure: the moments are given.
//
// A report carries the phone's own time (the server flags a phone clock far off). During an
// exercise the server runs an exercise clock (GET /api/v1/clock: exercise, speed), and the
// phone's reports follow that clock from the last reading, as `posko simulate` does.

/** Offset of the server's clock from the phone's, in ms (positive: the server is ahead). */
export function offsetOf(sentAt, serverIso, receivedAt) {
  const server = Date.parse(serverIso);
  if (Number.isNaN(server)) return null;
  return Math.round(server - (sentAt + receivedAt) / 2);
}

/** A reading of GET /api/v1/clock taken between `sentAt` and `receivedAt` (phone ms). */
export function readingOf(body, sentAt, receivedAt) {
  const offset = offsetOf(sentAt, body.now, receivedAt);
  if (offset === null) return null;
  return {
    offset,
    local: Math.round((sentAt + receivedAt) / 2),
    server: Date.parse(body.now),
    speed: typeof body.speed === "number" && body.speed > 0 ? body.speed : 1,
    exercise: body.exercise || null,
    rtt: receivedAt - sentAt,
  };
}

/** The time to stamp a report made at phone time `now`, as ISO 8601. */
export function stampOf(now, reading) {
  if (reading && reading.exercise) {
    return new Date(reading.server + (now - reading.local) * reading.speed).toISOString();
  }
  return new Date(now).toISOString();
}

/** Whether the phone's clock is off by more than the server tolerates quietly (2 minutes). */
export function clockIsOff(reading) {
  return !!reading && !reading.exercise && Math.abs(reading.offset) > 120000;
}

/** "3 dtk", "2 mnt 5 dtk", "1 jam 4 mnt": a duration for people. */
export function durationWords(ms, lang = "id") {
  const s = Math.round(Math.abs(ms) / 1000);
  const [sec, min, hour] = lang === "en" ? ["s", "min", "h"] : ["dtk", "mnt", "jam"];
  if (s < 60) return `${s} ${sec}`;
  if (s < 3600) return `${Math.floor(s / 60)} ${min}${s % 60 ? ` ${s % 60} ${sec}` : ""}`;
  return `${Math.floor(s / 3600)} ${hour} ${Math.floor((s % 3600) / 60)} ${min}`;
}
