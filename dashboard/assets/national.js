/*
 * Posko /nasional: the rollup comes by polling (pages/national.py: render_national), so there is no socket
 * to lose. The page counts as cut off when its "updated" time has not moved for three refreshes
 * and a second, and says so in the freshness line's class.
 */
(function () {
  "use strict";

  var seen = { text: null, at: Date.now() };

  function freshness(n, text, interval) {
    if (text !== seen.text) {
      seen.text = text;
      seen.at = Date.now();
    }
    if (Date.now() - seen.at > 3 * interval + 1000) return "freshness lost";
    return text && text !== "\u2014" ? "freshness live" : "freshness connecting";
  }

  var clientside = (window.dash_clientside = window.dash_clientside || {});
  clientside.posko = Object.assign(clientside.posko || {}, { nationalFreshness: freshness });
})();
