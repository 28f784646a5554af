/*
 * Posko live client · SOS: an officer's SOS stands above everything until someone at the post
 * acknowledges it. A full-width red band at the top of the page (who, where, when) and a
 * repeating alarm: a beep pattern every 2 s made by Web Audio oscillators (no sound file).
 *
 * The band follows the open `sos` alerts of the store: an acknowledged one leaves at once (the
 * sweeper clears it a moment later), and with the last one the alarm stops. The commander's
 * view offers "Terima SOS" (one `ack` action, handled like the alerts feed's); the wall only
 * shows. Browsers start sound only after a click on the page: until then the band says so
 * ("suara mati — klik untuk menyalakan"); a kiosk runs Chromium with
 * --autoplay-policy=no-user-gesture-required (docs/deployment.md).
 *
 * `standing`, `lines` and `createAlarm` are pure or given their parts (Node tests:
 * tests/js/sos.test.js); `createBand` draws into the page, outside Dash's tree.
 */
(function (root, name, deps, factory) {
  "use strict";
  if (typeof module === "object" && module.exports) {
    module.exports = factory.apply(null, deps.map(function (d) { return require("./" + d + ".js"); }));
    return;
  }
  var ns = root.posko || (root.posko = {});
  ns[name] = factory.apply(null, deps.map(function (d) {
    var dep = ns[d.replace(/^\d+-/, "")];
    if (!dep) throw new Error("posko: " + d + ".js must load before " + name);
    return dep;
  }));
})(typeof self !== "undefined" ? self : this, "sos", ["10-text"], function (text) {
  "use strict";

  var PATTERN_EVERY_MS = 2000;
  // One pattern: three short beeps, high-low-high (Hz, seconds from the pattern's start).
  var TONES = [
    [880, 0],
    [660, 0.2],
    [880, 0.4],
  ];
  var BEEP_S = 0.15;
  var LOUDNESS = 0.25;
  var fmt = text.fmt;
  var ms = text.ms;

  /** Open SOS alerts that nobody has acknowledged, oldest first (they waited longest). */
  function standing(alerts) {
    var out = [];
    alerts.forEach(function (a) {
      if (a.kind === "sos" && !a.cleared_at && !a.acknowledged_at) out.push(a);
    });
    return out.sort(function (a, b) {
      return ms(a.raised_at) - ms(b.raised_at) || a.id - b.id;
    });
  }

  function coordinate(v) {
    return Number(v).toFixed(5);
  }

  /**
   * What the band says about one SOS: `who` (rank, name, NRP, unit), `where` (TPS, else the
   * phone's position, else that nobody knows) and `when` (WIB, how long ago).
   * `o.words`, `o.tpsLabel(code)`, `o.serverNow` (ms).
   */
  function lines(a, o) {
    var d = a.detail || {};
    var w = o.words;
    var who = [d.rank, d.name].filter(Boolean).join(" ");
    if (d.nrp) who += (who ? " · " : "") + "NRP " + d.nrp;
    if (d.unit) who += " · " + d.unit;
    var where;
    if (d.tps) where = "TPS " + o.tpsLabel(d.tps) + " (" + d.tps + ")";
    else if (d.lat !== null && d.lat !== undefined && d.lon !== null && d.lon !== undefined) {
      where = fmt(w.sos_position, { lat: coordinate(d.lat), lon: coordinate(d.lon) });
    } else where = w.sos_no_position;
    var at = ms(d.device_time) || ms(a.raised_at);
    var when = text.hhmm(at) + " " + w.wib + " · " + text.agoText((o.serverNow - at) / 1000, w);
    return { who: who || w.sos_unknown, where: where, when: when };
  }

  /**
   * The alarm. `o.makeContext()` gives an AudioContext (or null: no sound on this browser);
   * `o.setInterval` / `o.clearInterval`. `set(true)` beeps now and every 2 s until `set(false)`.
   */
  function createAlarm(o) {
    var ctx = null;
    var made = false;
    var timer = null;
    var patterns = 0;

    function context() {
      if (!made) {
        made = true;
        try {
          ctx = o.makeContext();
        } catch {
          ctx = null; // sound is a help, the band is the alarm
        }
      }
      return ctx;
    }

    function beep(c, hz, at) {
      var osc = c.createOscillator();
      var gain = c.createGain();
      osc.type = "square";
      osc.frequency.value = hz;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(LOUDNESS, at + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + BEEP_S);
      osc.connect(gain);
      gain.connect(c.destination);
      osc.start(at);
      osc.stop(at + BEEP_S + 0.02);
    }

    function pattern() {
      var c = context();
      if (!c || c.state !== "running") return; // suspended: the band asks for a click
      var start = c.currentTime + 0.02;
      TONES.forEach(function (tone) {
        beep(c, tone[0], start + tone[1]);
      });
      patterns += 1;
    }

    function set(on) {
      if (on && timer === null) {
        pattern();
        timer = o.setInterval(pattern, PATTERN_EVERY_MS);
      } else if (!on && timer !== null) {
        o.clearInterval(timer);
        timer = null;
      }
    }

    /** After a click on the page: a suspended context may start now (and beeps at once). */
    function resume() {
      var c = timer !== null ? context() : null;
      if (!c || c.state !== "suspended" || !c.resume) return;
      c.resume().then(
        function () {
          if (timer !== null) pattern();
        },
        function () {
          /* still not allowed: the hint stays */
        }
      );
    }

    return {
      set: set,
      resume: resume,
      /** Whether the alarm is on (whatever the browser lets it play). */
      get on() {
        return timer !== null;
      },
      /** On, but the browser plays nothing yet (no click on this page, or no Web Audio). */
      get muted() {
        return timer !== null && (!ctx || ctx.state !== "running");
      },
      /** "running", "suspended", "closed" or "none". */
      get sound() {
        return ctx ? ctx.state : "none";
      },
      get patterns() {
        return patterns;
      },
    };
  }

  /**
   * The band at the top of the page. `o.store` (30-store.js), `o.cfg()`, `o.alarm`,
   * `o.canAck()` (the commander's view, operator or higher), `o.document()` (the page's).
   */
  function createBand(o) {
    var doc = null; // the page's document, asked for at the first draw
    var shown = null;
    var count = 0;

    function el(tag, cls, content) {
      var e = doc.createElement(tag);
      if (cls) e.className = cls;
      if (content !== undefined) e.textContent = content;
      return e;
    }

    function render(list, w, ack) {
      var box = doc.getElementById("posko-sos");
      if (!list.length) {
        if (box) box.remove();
        doc.body.classList.remove("sos-on");
        return;
      }
      if (!box) {
        box = el("div", "sos-band");
        box.id = "posko-sos";
        box.setAttribute("role", "alert");
        doc.body.insertBefore(box, doc.body.firstChild);
      }
      doc.body.classList.add("sos-on");
      box.replaceChildren();
      list.forEach(function (item) {
        var row = el("div", "sos-row");
        row.setAttribute("data-alert", String(item.id));
        row.appendChild(el("span", "sos-tag", w.sos_title));
        row.appendChild(el("span", "sos-who", item.who));
        row.appendChild(el("span", "sos-where", item.where));
        row.appendChild(el("span", "sos-when", item.when));
        if (ack) {
          // Handled by the page's one click handler, as the alerts feed's acknowledge.
          var b = el("button", "act act-sos", w.sos_ack);
          b.type = "button";
          b.setAttribute("data-act", "ack");
          b.setAttribute("data-kind", "alert");
          b.setAttribute("data-id", String(item.id));
          row.appendChild(b);
        }
        box.appendChild(row);
      });
      if (o.alarm.muted) {
        var hint = el("button", "sos-muted", w.sos_sound_off);
        hint.type = "button";
        box.appendChild(hint);
      }
    }

    /** Show what stands now (cheap when nothing changed: the text is compared first). */
    function draw() {
      var cfg = o.cfg();
      if (!cfg) return;
      doc = doc || o.document();
      var list = standing(o.store.alerts);
      count = list.length;
      o.alarm.set(count > 0);
      var w = cfg.i18n.words;
      var now = o.store.serverNow();
      var items = list.map(function (a) {
        var l = lines(a, { words: w, tpsLabel: o.store.tpsLabel, serverNow: now });
        return { id: a.id, who: l.who, where: l.where, when: l.when };
      });
      var ack = o.canAck();
      var key = JSON.stringify([items, ack, o.alarm.muted]);
      if (key === shown) return;
      shown = key;
      render(items, w, ack);
    }

    return {
      draw: draw,
      get count() {
        return count;
      },
    };
  }

  return { standing: standing, lines: lines, createAlarm: createAlarm, createBand: createBand };
});
