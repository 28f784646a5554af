// The outbox: every report the officer made and where it stands. Pure state, no I/O and no
// clock of its own (every change takes `now`), so it runs the same in the phone and under Node.
//
// A report lives: menunggu (queued) → terkirim (on its way) → diterima (stored or duplicate)
// or ditolak (rejected, with the server's field and reason). Only the server's ack moves it to
// diterima/ditolak; a lost socket, a storage error or a timeout put it back to menunggu. Its
// wire event (event_id and device_time included) is fixed when it is made and sent unchanged
// every time, so a resend is a duplicate to the server, never a second report.

export const MENUNGGU = "menunggu";
export const TERKIRIM = "terkirim";
export const DITERIMA = "diterima";
export const DITOLAK = "ditolak";

export const HISTORY_MAX = 100; // accepted reports kept to look back on
export const PHOTOS_MAX = 3;

/** A new report for the outbox; `event` is the wire event, complete and final. */
export function makeRecord(event, { seq, now, nrp = null, photos = 0, summary = null }) {
  if (!event || !event.event_id || !event.device_time) {
    throw new Error("a report needs its event_id and device_time when it is made");
  }
  const count = Math.min(Math.max(photos, 0), PHOTOS_MAX);
  return {
    event_id: event.event_id,
    seq,
    kind: event.type,
    sos: event.sos === true,
    event: Object.freeze({ ...event }),
    nrp,
    summary,
    created_at: now,
    state: MENUNGGU,
    tries: 0,
    sent_at: null,
    done_at: null,
    result: null,
    error: null,
    flags: [],
    photos: Array.from({ length: count }, (_, index) => ({ index, state: MENUNGGU, error: null })),
  };
}

function isFinal(r) {
  return r.state === DITERIMA || r.state === DITOLAK;
}

function photosSettled(r) {
  return r.photos.every((p) => p.state !== MENUNGGU);
}

/** The reports of this phone, in the order they were made. */
export class Outbox {
  constructor(records = []) {
    this.byId = new Map();
    for (const r of records) {
      // What was on its way when the app stopped never got its ack: it goes again.
      const copy = { ...r, photos: (r.photos || []).map((p) => ({ ...p })) };
      if (copy.state === TERKIRIM) copy.state = MENUNGGU;
      this.byId.set(copy.event_id, copy);
    }
  }

  /** The sequence number the next report takes (one more than any kept). */
  nextSeq() {
    let max = 0;
    for (const r of this.byId.values()) max = Math.max(max, r.seq);
    return max + 1;
  }

  add(record) {
    if (this.byId.has(record.event_id)) throw new Error("event_id already in the outbox");
    this.byId.set(record.event_id, record);
    return record;
  }

  get(id) {
    return this.byId.get(id) || null;
  }

  /** Every report, oldest first. */
  list() {
    return [...this.byId.values()].sort((a, b) => a.seq - b.seq);
  }

  counts() {
    const c = { [MENUNGGU]: 0, [TERKIRIM]: 0, [DITERIMA]: 0, [DITOLAK]: 0, photos: 0 };
    for (const r of this.byId.values()) {
      c[r.state] += 1;
      if (r.state === DITERIMA) c.photos += r.photos.filter((p) => p.state === MENUNGGU).length;
    }
    return c;
  }

  /** Reports and photos still to deliver. */
  unsent() {
    const c = this.counts();
    return c[MENUNGGU] + c[TERKIRIM] + c.photos;
  }

  /**
   * The next reports to send, in creation order: queued ones of this officer, at most `max`
   * and at most `maxBytes` of JSON (always at least one).
   */
  nextBatch({ max = 50, maxBytes = Infinity, nrp = null, size = (e) => JSON.stringify(e).length } = {}) {
    const out = [];
    let bytes = 2;
    for (const r of this.list()) {
      if (r.state !== MENUNGGU || !sameOfficer(r, nrp)) continue;
      const b = size(r.event) + 1;
      if (out.length && (out.length >= max || bytes + b > maxBytes)) break;
      out.push(r);
      bytes += b;
    }
    return out;
  }

  /** Mark reports as sent; returns the changed ones. */
  markSent(ids, now) {
    const changed = [];
    for (const id of ids) {
      const r = this.byId.get(id);
      if (!r || r.state !== MENUNGGU) continue;
      r.state = TERKIRIM;
      r.sent_at = now;
      r.tries += 1;
      changed.push(r);
    }
    return changed;
  }

  /** Apply one ack from the server; returns the changed report, or null (unknown or repeated). */
  ack(ack, now) {
    const r = ack && ack.event_id ? this.byId.get(String(ack.event_id).toLowerCase()) : null;
    if (!r || isFinal(r)) return null; // an ack for what is already settled changes nothing
    if (ack.result === "stored" || ack.result === "duplicate") {
      r.state = DITERIMA;
      r.error = null;
    } else if (ack.result === "rejected") {
      r.state = DITOLAK;
      r.error = ack.error ? { field: ack.error.field, reason: ack.error.reason } : null;
    } else {
      return null;
    }
    r.result = ack.result;
    r.flags = Array.isArray(ack.flags) ? ack.flags.slice() : [];
    r.done_at = now;
    return r;
  }

  /** Put reports that were on their way back in the queue (lost socket, storage error). */
  requeue(ids) {
    const changed = [];
    for (const id of ids) {
      const r = this.byId.get(id);
      if (r && r.state === TERKIRIM) {
        r.state = MENUNGGU;
        changed.push(r);
      }
    }
    return changed;
  }

  /** Reject reports the server refused as a whole frame (only ever one report per frame). */
  reject(ids, error, now) {
    const changed = [];
    for (const id of ids) {
      const r = this.byId.get(id);
      if (!r || isFinal(r)) continue;
      r.state = DITOLAK;
      r.result = "rejected";
      r.error = error ? { field: error.field, reason: error.reason } : null;
      r.done_at = now;
      changed.push(r);
    }
    return changed;
  }

  /**
   * Remove a report the officer dismissed: a rejected one, or one made under an earlier
   * enrolment that this phone can no longer send. Returns it, or null.
   */
  dismiss(id, { nrp = null } = {}) {
    const r = this.byId.get(id);
    if (!r) return null;
    const orphan = r.state === MENUNGGU && !sameOfficer(r, nrp);
    if (r.state !== DITOLAK && !orphan) return null; // nothing else leaves before its ack
    this.byId.delete(id);
    return r;
  }

  /** The next photo to upload: of an accepted incident, in creation order. */
  nextPhoto({ nrp = null, skip = () => false } = {}) {
    for (const r of this.list()) {
      if (r.state !== DITERIMA || !sameOfficer(r, nrp)) continue;
      for (const p of r.photos) {
        if (p.state === MENUNGGU && !skip(r, p)) return { record: r, photo: p };
      }
    }
    return null;
  }

  /** Record how a photo's upload ended ("diterima" or "ditolak"); returns the report. */
  photoDone(id, index, state, error = null) {
    const r = this.byId.get(id);
    const p = r && r.photos.find((x) => x.index === index);
    if (!p || p.state !== MENUNGGU) return null;
    p.state = state;
    p.error = error;
    return r;
  }

  /** Accepted reports beyond the last `keep` (photos all settled) leave; returns them. */
  prune(keep = HISTORY_MAX) {
    const done = this.list().filter((r) => r.state === DITERIMA && photosSettled(r));
    const gone = done.slice(0, Math.max(done.length - keep, 0));
    for (const r of gone) this.byId.delete(r.event_id);
    return gone;
  }

  /** The officer clears the history: every accepted report whose photos are settled. */
  clearHistory() {
    return this.prune(0);
  }
}

function sameOfficer(r, nrp) {
  return !r.nrp || !nrp || r.nrp === nrp;
}
