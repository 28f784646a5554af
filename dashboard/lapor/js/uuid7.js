// RFC 9562 UUIDv7: 48-bit Unix milliseconds, version 7, 12 + 62 bits after it.
// Ids made by one generator only ever grow (method 1 of RFC 9562 §6.2): within one millisecond,
// or when the phone's clock steps back, a 42-bit counter (rand_a and the top 30 bits of rand_b)
// is incremented instead of drawn again. Time-ordered ids keep the server's event_id index
// appending at its right edge.

const COUNTER_BITS = 42;
const COUNTER_MAX = 2 ** COUNTER_BITS - 1;

function cryptoRandom(n) {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

/** A generator of UUIDv7 strings; `now` and `random(n)` (n random bytes) may be given. */
export function createUuid7({ now = () => Date.now(), random = cryptoRandom } = {}) {
  let lastMs = -1;
  let counter = 0;

  function seed() {
    const r = random(6);
    // 41 random bits: the counter's top bit starts clear, leaving room to count in this ms.
    return ((r[0] & 0x01) * 2 ** 40) + r[1] * 2 ** 32 + ((r[2] << 24) >>> 0) + (r[3] << 16) + (r[4] << 8) + r[5];
  }

  return function uuid7() {
    let ms = Math.floor(now());
    if (ms > lastMs) {
      lastMs = ms;
      counter = seed();
    } else {
      // Same millisecond, or the clock went back: stay on the last time and count on.
      ms = lastMs;
      counter += 1;
      if (counter > COUNTER_MAX) {
        lastMs += 1; // the counter ran out: borrow the next millisecond
        ms = lastMs;
        counter = seed();
      }
    }
    const b = new Uint8Array(16);
    let t = ms;
    for (let i = 5; i >= 0; i -= 1) {
      b[i] = t % 256;
      t = Math.floor(t / 256);
    }
    const hi = Math.floor(counter / 2 ** 30); // 12 bits: rand_a
    const lo = counter % 2 ** 30; // 30 bits: the top of rand_b
    b[6] = 0x70 | (hi >> 8);
    b[7] = hi & 0xff;
    b[8] = 0x80 | (lo >>> 24);
    b[9] = (lo >>> 16) & 0xff;
    b[10] = (lo >>> 8) & 0xff;
    b[11] = lo & 0xff;
    b.set(random(4), 12);
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
}

/** The Unix milliseconds an id was made at. */
export function timeOf(id) {
  return parseInt(id.replace(/-/g, "").slice(0, 12), 16);
}

export const uuid7 = createUuid7();
