// UUIDv7 (dashboard/lapor/js/uuid7.js): the format RFC 9562 gives it, and ids of one phone
// that only ever grow — within a millisecond, and when the phone's clock steps back.

import test from "node:test";
import assert from "node:assert/strict";
import { createUuid7, timeOf, uuid7 } from "../../../dashboard/lapor/js/uuid7.js";

const FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("an id has the UUID form, version 7 and the RFC 9562 variant", () => {
  for (let i = 0; i < 1000; i += 1) {
    const id = uuid7();
    assert.match(id, FORMAT);
    const hex = id.replace(/-/g, "");
    assert.equal(parseInt(hex[12], 16), 7, "version nibble");
    assert.equal(parseInt(hex[16], 16) >> 2, 0b10, "variant bits 10");
  }
});

test("the first 48 bits are the Unix milliseconds of the moment it was made", () => {
  const make = createUuid7({ now: () => 1732665600123 });
  assert.equal(timeOf(make()), 1732665600123);
  assert.ok(make().startsWith("01936aea-e87b-7"), "the time in hex, as every UUIDv7 reader reads it");
});

test("ids made in the same millisecond still increase, thousands of them", () => {
  const make = createUuid7({ now: () => 1732665600000 });
  let prev = make();
  for (let i = 0; i < 5000; i += 1) {
    const id = make();
    assert.ok(id > prev, `${id} after ${prev}`);
    assert.match(id, FORMAT);
    assert.equal(timeOf(id), 1732665600000);
    prev = id;
  }
});

test("a clock that steps back does not make an id smaller", () => {
  let t = 1732665600500;
  const make = createUuid7({ now: () => t });
  const a = make();
  t -= 400; // the phone synced its clock backwards
  const b = make();
  t += 100;
  const c = make();
  assert.ok(b > a && c > b);
  assert.equal(timeOf(b), 1732665600500, "stays on the last time until the clock passes it");
});

test("ids from different phones in the same millisecond differ", () => {
  const a = createUuid7({ now: () => 5 });
  const b = createUuid7({ now: () => 5 });
  const seen = new Set();
  for (let i = 0; i < 200; i += 1) {
    seen.add(a());
    seen.add(b());
  }
  assert.equal(seen.size, 400);
});
