/*
 * Posko live client · overlay: a TPS marker that changed is painted at once on a 2D canvas over
 * the map, and stays there until the map itself shows it.
 *
 * Why: a map draw (Plotly.react → MapLibre's worker → a WebGL repaint) costs 300-450 ms with
 * software WebGL and holds the page's thread and a core; under 500 pings/s the wall drew the map
 * 2-3 times a second and a change waited for the draw in progress and then its own (bench/pixel.md).
 * Here a change costs a few circles on a canvas, one paint per animation frame; the map follows
 * every few seconds (60-figures.js, mapGap) for its hover labels and the overlay's entries go
 * once the map shows the same. Styles come from 20-markers.js, as everywhere else.
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
})(typeof self !== "undefined" ? self : this, "overlay", ["20-markers", "50-dash"], function (markers, dash) {
  "use strict";

  var SETTLE_FALLBACK_MS = 3000; // the map never said idle after its draw: trust it anyway

  /**
   * What to paint, in order: `entries` (index -> [colour, size]) each over an eraser disc as big
   * as the marker the map shows there, then every marker whose disc meets an eraser, in the
   * map's order (later over earlier), in the style it has on the overlay or else on the map.
   * `pts[i]` = [x, y] CSS px or null; `drawn(i)` = [colour, size] the map shows. Pure.
   */
  function plan(entries, pts, drawn) {
    var erase = [];
    var hit = new Set();
    entries.forEach(function (style, i) {
      var p = pts[i];
      if (!p) return;
      var r = Math.max(drawn(i)[1], style[1]) / 2 + 1;
      erase.push([p[0], p[1], r]);
      hit.add(i);
    });
    if (!erase.length) return { erase: [], paint: [] };
    for (var j = 0; j < pts.length; j++) {
      var q = pts[j];
      if (!q || hit.has(j)) continue;
      var rj = (entries.has(j) ? entries.get(j)[1] : drawn(j)[1]) / 2;
      for (var e = 0; e < erase.length; e++) {
        var dx = erase[e][0] - q[0];
        var dy = erase[e][1] - q[1];
        var reach = erase[e][2] + rj;
        if (dx * dx + dy * dy < reach * reach) {
          hit.add(j);
          break;
        }
      }
    }
    var paint = Array.from(hit)
      .sort(function (a, b) {
        return a - b;
      })
      .map(function (i) {
        var s = entries.has(i) ? entries.get(i) : drawn(i);
        return [pts[i][0], pts[i][1], s[1] / 2, s[0]];
      });
    return { erase: erase, paint: paint };
  }

  /**
   * The overlay of one page. `o.store`, `o.bridge` (50-dash.js), `o.cfg()`, `o.now()`,
   * `o.view()` what the map shows (60-figures.js mapView: codes, index, lat, lon, mode, opacity,
   * drawn colour/size arrays) or null, `o.stats` (this adds overlayPaints/overlayMs).
   */
  function createOverlay(o) {
    var entries = new Map(); // map index -> [colour, size] painted here, not yet on the map
    var painted = new Map(); // code -> [colour, now() painted]: what the bench and tests read
    var stats = o.stats || {};
    var canvas = null;
    var map = null;
    var pts = null; // projected marker centres, CSS px; null: project again
    var frameAsked = false;
    var viewOf = null; // the map's lat array the entries and points belong to

    function mapInstance() {
      var gd = o.bridge.plotOf(o.cfg().ids.map);
      var sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
      return sub && sub.map ? sub.map : null;
    }

    function attach() {
      var m = mapInstance();
      if (!m) return false;
      if (m === map && canvas && canvas.isConnected) return true;
      map = m;
      pts = null;
      canvas = document.createElement("canvas");
      canvas.className = "posko-overlay";
      canvas.style.cssText = "position:absolute;left:0;top:0;pointer-events:none;z-index:1";
      m.getContainer().appendChild(canvas);
      var again = function () {
        pts = null;
        ask();
      };
      m.on("move", again);
      m.on("resize", again);
      return true;
    }

    function ask() {
      if (frameAsked || typeof requestAnimationFrame !== "function") return;
      frameAsked = true;
      requestAnimationFrame(paint);
    }

    function styleOf(view, t) {
      var state = markers.markerState(t, o.store.stale.has(t.code));
      return markers.markerStyle(t, state, view.mode, o.cfg().theme, dash.scale());
    }

    function current() {
      // A new map figure (a refit, a filter, another mode): indices and points start over.
      var view = o.view();
      if (view && view.lat !== viewOf) {
        viewOf = view.lat;
        entries.clear();
        pts = null;
      }
      return view;
    }

    /**
     * These TPS may look different now: paint those the map does not show as they are (and,
     * unless `keep`, let go of those it does).
     */
    function mark(codes, keep) {
      var view = current();
      if (!view || !codes.size) return;
      codes.forEach(function (code) {
        var i = view.index.get(code);
        var t = o.store.tps.get(code);
        if (i === undefined || !t) return;
        var s = styleOf(view, t);
        if (s[0] === view.colour[i] && s[1] === view.size[i]) {
          if (keep) return;
          if (entries.delete(i)) painted.set(code, [s[0], o.now()]); // the map's own pixel shows again
          return;
        }
        var had = entries.get(i);
        if (!had || had[0] !== s[0] || had[1] !== s[1]) entries.set(i, s);
      });
      ask();
    }

    /**
     * The map finished a draw of `codes`: paint those it now shows other than they are (a
     * change that came while it drew), and drop what it shows as they are, once its tiles are back.
     */
    function settled(codes) {
      if (codes) mark(codes, true);
      var m = mapInstance();
      var done = false;
      var run = function () {
        if (done) return;
        done = true;
        var view = current();
        if (!view) return;
        var before = entries.size;
        entries.forEach(function (s, i) {
          if (s[0] === view.colour[i] && s[1] === view.size[i]) entries.delete(i);
        });
        if (entries.size !== before) ask();
      };
      if (!m || (m.loaded && m.loaded())) return run();
      m.once("idle", run);
      setTimeout(run, SETTLE_FALLBACK_MS);
    }

    function clear() {
      if (!entries.size) return;
      entries.clear();
      ask();
    }

    function paint() {
      frameAsked = false;
      var view = current();
      if (!view || !attach()) return;
      var t0 = o.now();
      var box = map.getContainer();
      var w = box.clientWidth;
      var h = box.clientHeight;
      var dpr = window.devicePixelRatio || 1;
      if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
        canvas.width = Math.round(w * dpr);
        canvas.height = Math.round(h * dpr);
        canvas.style.width = w + "px";
        canvas.style.height = h + "px";
      }
      var ctx = canvas.getContext("2d");
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, w, h);
      if (!entries.size) return;
      if (!pts) {
        pts = view.lat.map(function (lat, i) {
          var p = map.project([view.lon[i], lat]);
          return p.x < -20 || p.y < -20 || p.x > w + 20 || p.y > h + 20 ? null : [p.x, p.y];
        });
      }
      var drawn = function (i) {
        return [view.colour[i], view.size[i]];
      };
      var ops = plan(entries, pts, drawn);
      ctx.globalAlpha = 1;
      ctx.fillStyle = o.cfg().theme.land;
      ops.erase.forEach(function (e) {
        ctx.beginPath();
        ctx.arc(e[0], e[1], e[2], 0, 2 * Math.PI);
        ctx.fill();
      });
      ctx.globalAlpha = view.opacity;
      ops.paint.forEach(function (p) {
        ctx.fillStyle = p[3];
        ctx.beginPath();
        ctx.arc(p[0], p[1], p[2], 0, 2 * Math.PI);
        ctx.fill();
      });
      var at = o.now();
      entries.forEach(function (s, i) {
        // When this colour first showed here (later paints of the same colour keep that time).
        var had = painted.get(view.codes[i]);
        if (!had || had[0] !== s[0]) painted.set(view.codes[i], [s[0], at]);
      });
      stats.overlayPaints = (stats.overlayPaints || 0) + 1;
      stats.overlayMs = (stats.overlayMs || 0) + (at - t0);
    }

    return {
      mark: mark,
      settled: settled,
      clear: clear,
      /** [colour, now() when painted] of the TPS's last overlay paint, or null. */
      painted: function (code) {
        return painted.get(code) || null;
      },
      get size() {
        return entries.size;
      },
    };
  }

  return { createOverlay: createOverlay, plan: plan };
});
