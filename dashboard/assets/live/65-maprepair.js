/*
 * Posko live client · map repair: three repairs of plotly.js 4.1's map, kept here so they run on
 * every map it creates (tend() every tick and every second, checkWedged() every second).
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
})(typeof self !== "undefined" ? self : this, "maprepair", [], function () {
  "use strict";

  var MAP_ERROR_EVENTS = ["error", "style.error", "source.error", "tile.error", "layer.error"];
  var WEDGED_AFTER_MS = 30000;

  /** `o.cfg()` the page's config, `o.bridge` (50-dash.js), `o.now()`, `o.isLive()`. */
  function createMapRepair(o) {
    var lastPlotted = 0;

    function mapInstance() {
      var gd = o.bridge.plotOf(o.cfg().ids.map);
      var sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
      return sub && sub.map ? sub.map : null;
    }

    function tend() {
      var map = mapInstance();
      if (!map) return;
      if (!map.__posko) {
        map.__posko = true;
        // 1. On every update plotly adds five one-time MapLibre error listeners that reject that
        //    update's promise. They are removed only when an error fires, so they pile up all day;
        //    and when one fires (a tile hiccup, a boundary fetch during a restart) dcc.Graph's
        //    update chain stays rejected and the map never changes again. Errors here are not
        //    fatal to the picture: do not let them reject anything.
        var once = map.once;
        map.once = function (type, fn) {
          if (MAP_ERROR_EVENTS.indexOf(type) >= 0 && typeof fn === "function") return this;
          return once.apply(this, arguments);
        };
        var listeners = map._oneTimeListeners || {};
        MAP_ERROR_EVENTS.forEach(function (type) {
          if (listeners[type]) listeners[type].length = 0;
        });
      }
      // 2. "white-bg" is the offline style: paint its one layer in the room's colour.
      var th = o.cfg().theme;
      try {
        if (map.getLayer(th.background_layer) && map.getPaintProperty(th.background_layer, "background-color") !== th.land) {
          map.setPaintProperty(th.background_layer, "background-color", th.land);
        }
      } catch {
        /* style still loading: next time */
      }
    }

    function checkWedged() {
      // 3. Last resort: Dash holds a newer figure and the graph has not drawn anything for 30 s.
      var id = o.cfg().ids.map;
      var gd = o.bridge.plotOf(id);
      var fig = o.bridge.figureOf(id);
      if (!gd || !fig || !gd.data || !gd.on) return;
      if (!gd.__posko) {
        gd.__posko = true;
        gd.on("plotly_afterplot", function () {
          lastPlotted = o.now();
        });
        lastPlotted = o.now();
      }
      // Only while the server answers: a reload into a dead server would leave an error page.
      if (gd.data !== fig.data && o.now() - lastPlotted > WEDGED_AFTER_MS && o.isLive()) {
        console.warn("posko: the map stopped following its figure; reloading the page");
        location.reload();
      }
    }

    return { tend: tend, checkWedged: checkWedged };
  }

  return { createMapRepair: createMapRepair };
});
