/*
 * Posko live client · text: filling in words, WIB clock times, escaping. Pure functions.
 *
 * Every file of the live client is one module with one job. Dash loads them as classic scripts
 * in file-name order (the number says the order); each names the modules it needs and gets them
 * from window.posko, or through require() under Node, where tests/js/ runs them without a browser.
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
})(typeof self !== "undefined" ? self : this, "text", [], function () {
  "use strict";

  function ms(iso) {
    return iso ? Date.parse(iso) : null;
  }

  function esc(text) {
    // Field officers type incident descriptions; hover labels read a little HTML.
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) {
      return values[k] === undefined || values[k] === null ? "" : String(values[k]);
    });
  }

  var wibParts = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Asia/Jakarta",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
    weekday: "short",
  });

  function wib(at) {
    var out = {};
    wibParts.formatToParts(new Date(at)).forEach(function (p) {
      out[p.type] = p.value;
    });
    return out;
  }

  function hhmm(at) {
    var p = wib(at);
    return p.hour + ":" + p.minute;
  }

  function hhmmss(at) {
    var p = wib(at);
    return p.hour + ":" + p.minute + ":" + p.second;
  }

  // The timeline's x values: WIB wall time without offset, like figures.axis_time.
  function axisTime(at) {
    var p = wib(at);
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + ":" + p.second;
  }

  var WEEKDAYS = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

  function dateText(at, i18n) {
    var p = wib(at);
    return (
      i18n.days[WEEKDAYS[p.weekday]] + ", " + Number(p.day) + " " + i18n.months[Number(p.month) - 1] + " " + p.year
    );
  }

  function agoText(seconds, words) {
    var s = Math.max(0, Math.floor(seconds));
    if (s < 60) return fmt(words.ago_s, { n: s });
    if (s < 3600) return fmt(words.ago_m, { n: Math.floor(s / 60) });
    return fmt(words.ago_h, { n: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  }

  return {
    ms: ms,
    esc: esc,
    fmt: fmt,
    hhmm: hhmm,
    hhmmss: hhmmss,
    axisTime: axisTime,
    dateText: dateText,
    agoText: agoText,
  };
});
