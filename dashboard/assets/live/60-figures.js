/*
 * Posko live client · figures: the map, the timeline barcode and the progress bars follow the
 * store by Patch. Their shapes come from the server (dashboard/figures.py, trace order fixed
 * there); this only patches them: marker colour/size/text by index, incident rings, the current
 * bin of every timeline row, the bar counts. A figure takes its next patch only when its graph
 * is idle, and that patch carries everything that changed meanwhile.
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
})(typeof self !== "undefined" ? self : this, "figures", ["10-text", "20-markers", "50-dash"], function (
  text,
  markers,
  dash
) {
  "use strict";

  // The timeline and progress bars (the map follows every tick) are drawn at most every
  // CHARTS_EVERY_MS, and less often when their draws are slow: a draw holds the page's one
  // thread (a CPU profile of /wall under bench/pixel.py's load, load average ~30: ~1 s per
  // timeline draw, 30 % of the thread), and live frames and map patches wait behind it. Their
  // share of the thread is kept near CHARTS_SHARE; a day-long chart is at most CHARTS_MAX_MS old.
  var CHARTS_EVERY_MS = 2000;
  var CHARTS_MAX_MS = 15000;
  var CHARTS_SHARE = 0.1;
  var MAP_MIN_MS = 100; // an idle map takes a change at once, but not more often than this
  // With the overlay (62-overlay.js) painting changes at once, the map itself follows at most
  // every MAP_EVERY_MS, and less often when its draws are slow (its share of the page's thread
  // and of a core near MAP_SHARE), at least every MAP_MAX_MS: it keeps the hover labels current
  // and lets the overlay's entries go.
  var MAP_EVERY_MS = 4000;
  var MAP_MAX_MS = 10000;
  var MAP_SHARE = 0.05;
  var HOVER_REFRESH_MS = 30000; // "x min ago" in every hover label
  var ms = text.ms;

  /** How long after a round of chart draws the next may start, given what that round cost. */
  function chartsGap(costMs) {
    return Math.min(CHARTS_MAX_MS, Math.max(CHARTS_EVERY_MS, (costMs || 0) / CHARTS_SHARE));
  }

  /** How long after a map draw the next may start, given what it cost; `painted`: an overlay paints changes. */
  function mapGap(costMs, painted) {
    if (!painted) return MAP_MIN_MS;
    return Math.min(MAP_MAX_MS, Math.max(MAP_EVERY_MS, (costMs || 0) / MAP_SHARE));
  }

  /**
   * Times rounds of draws of some graphs: from the first graph that starts drawing (dcc.Graph
   * marks it pending just before Plotly.react) until none is drawing. `note` returns the
   * round's ms when it ends, else null.
   */
  function createMeter() {
    var drawing = new Set();
    var start = 0;
    return {
      note: function (id, pending, t) {
        if (pending) {
          if (!drawing.size) start = t;
          drawing.add(id);
          return null;
        }
        if (!drawing.has(id)) return null;
        drawing.delete(id);
        return drawing.size ? null : t - start;
      },
    };
  }

  /**
   * The figures of one page. `o.store`, `o.bridge` (50-dash.js), `o.cfg()` the page's config,
   * `o.now()` monotonic ms, `o.onNewDay()` when the timeline runs past its day (the server
   * redraws), `o.onIdle()` when the map finished a draw with changes waiting, `o.stats` counters
   * shared with the page (this adds mapDraws/mapDrawMs and chartDraws/chartDrawMs).
   */
  function createFigures(o) {
    var store = o.store;
    var bridge = o.bridge;
    var now = o.now;
    // What each figure still has to show; a figure takes it only when its graph is idle.
    var Q = {
      map: { codes: new Set(), all: true, incidents: true },
      timeline: { codes: new Set(), all: true },
      progress: { any: true },
    };
    var M = null; // map figure tracker
    var T = null; // timeline figure tracker
    var P = null; // progress figure tracker
    var lastHoverAll = 0;
    var hoverDeferred = false;
    var mapAt = 0;
    var mapCost = 0; // ms the last map draw took (patch to repaint)
    var inflight = []; // [index, colour, size] handed to the map, not yet drawn
    var chartsAt = 0;
    var chartsCost = 0; // ms the last round of chart draws held the page's thread
    var chartsMeter = createMeter();
    var mapMeter = createMeter();
    var stats = o.stats || {};
    var applied = new Map(); // code -> now() when its newest state was sent to Dash
    var appliedVersion = new Map();

    function cfg() {
      return o.cfg();
    }

    function markerState(t) {
      return markers.markerState(t, store.stale.has(t.code));
    }

    function hoverText(t, state, at) {
      return markers.hoverText(t, state, at, cfg().i18n);
    }

    /** Take what the store marked as changed into each figure's queue (and clear it there). */
    function take(changed) {
      changed.codes.forEach(function (code) {
        Q.map.codes.add(code);
        Q.timeline.codes.add(code);
      });
      if (changed.all) {
        Q.map.all = true;
        Q.timeline.all = true;
      }
      if (changed.incidents) Q.map.incidents = true;
      if (changed.codes.size || changed.all) Q.progress.any = true;
      changed.codes.clear();
      changed.all = false;
      changed.incidents = false;
    }

    /** Patch the map if it is idle; true when a patch went out. */
    function drawMap() {
      var id = cfg().ids.map;
      var urgent = !M || Q.map.all || Q.map.incidents;
      // Only the wall's map is paced: the commander reads its hover labels, which the overlay lacks.
      var paced = !!o.overlay && cfg().view === "wall";
      if (bridge.busy(id) || now() - mapAt < (urgent ? MAP_MIN_MS : mapGap(mapCost, paced))) return false;
      var patch = bridge.newPatch();
      var sent = syncMap(patch) && bridge.send(id, patch);
      if (sent) mapAt = now();
      return sent;
    }

    // The charts take 50-1,000 ms of this thread per draw, and the map's draw waits behind
    // them: under load they were redrawn every tick and the map fell seconds behind. A day-long
    // timeline and the progress bars lose nothing by following every few seconds (chartsGap).
    function drawCharts() {
      if (now() - chartsAt < chartsGap(chartsCost) && !Q.timeline.all) return;
      var ids = cfg().ids;
      chartsAt = now();
      if (!bridge.busy(ids.timeline)) syncTimeline();
      if (Q.progress.any && !bridge.busy(ids.progress) && syncProgress()) Q.progress.any = false;
    }

    function syncMap(patch) {
      var fig = bridge.figureOf(cfg().ids.map);
      if (!fig || !fig.layout || !fig.layout.meta || fig.layout.meta.kind !== "map" || !fig.data.length) {
        return false;
      }
      var meta = fig.layout.meta;
      var all = Q.map.all;
      if (!M || M.rev !== meta.rev) {
        var ids = fig.data[0].ids || [];
        M = {
          rev: meta.rev,
          mode: meta.mode,
          index: new Map(),
          codes: ids,
          colour: fig.data[0].marker.color.slice(),
          size: fig.data[0].marker.size.slice(),
          text: fig.data[0].hovertext.slice(),
          incidents: null,
          // What the map shows (drawn), for the overlay: the figure's arrays until a draw is done.
          lat: fig.data[0].lat,
          lon: fig.data[0].lon,
          opacity: fig.data[0].marker.opacity === undefined ? 1 : fig.data[0].marker.opacity,
          shownColour: fig.data[0].marker.color.slice(),
          shownSize: fig.data[0].marker.size.slice(),
        };
        inflight = [];
        ids.forEach(function (code, i) {
          M.index.set(code, i);
        });
        all = true;
        if (meta.fit !== false) fitMap(patch, meta.bounds);
      }
      var at = store.serverNow();
      var k = dash.scale();
      var theme = cfg().theme;
      // The labels' refresh (three whole arrays, ~230 KB) does not ride on the first patch that
      // carries a few changed markers: it takes the next draw, whatever that carries.
      var textDue = now() - lastHoverAll > HOVER_REFRESH_MS;
      var wantAllText = all || (textDue && (hoverDeferred || !Q.map.codes.size));
      hoverDeferred = textDue && !wantAllText;
      var codes = all ? M.codes : Array.from(Q.map.codes);
      var changes = [];
      codes.forEach(function (code) {
        var i = M.index.get(code);
        var t = store.tps.get(code);
        if (i === undefined || !t) return;
        var state = markerState(t);
        var style = markers.markerStyle(t, state, M.mode, theme, k);
        var label = hoverText(t, state, at);
        if (style[0] !== M.colour[i] || style[1] !== M.size[i] || label !== M.text[i]) {
          changes.push([i, style[0], style[1], label]);
        }
        applied.set(code, now());
        appliedVersion.set(code, t.version);
      });
      if (changes.length > 40 || wantAllText) {
        // Many at once (a refit, a reload): three whole arrays are cheaper than many paths.
        changes.forEach(function (c) {
          M.colour[c[0]] = c[1];
          M.size[c[0]] = c[2];
          M.text[c[0]] = c[3];
        });
        if (wantAllText) {
          lastHoverAll = now();
          M.codes.forEach(function (code, i) {
            var t = store.tps.get(code);
            if (t) M.text[i] = hoverText(t, markerState(t), at);
          });
        }
        if (changes.length || wantAllText) {
          M.colour.forEach(function (c, i) {
            inflight.push([i, c, M.size[i]]);
          });
          patch.assign(["data", 0, "marker", "color"], M.colour.slice());
          patch.assign(["data", 0, "marker", "size"], M.size.slice());
          patch.assign(["data", 0, "hovertext"], M.text.slice());
          stats.wholeMapPatches = (stats.wholeMapPatches || 0) + 1; // what the tests tell apart
        }
      } else {
        changes.forEach(function (c) {
          var i = c[0];
          if (c[1] !== M.colour[i]) patch.assign(["data", 0, "marker", "color", i], c[1]);
          if (c[2] !== M.size[i]) patch.assign(["data", 0, "marker", "size", i], c[2]);
          if (c[3] !== M.text[i]) patch.assign(["data", 0, "hovertext", i], c[3]);
          M.colour[i] = c[1];
          M.size[i] = c[2];
          M.text[i] = c[3];
          inflight.push([i, c[1], c[2]]);
        });
      }
      if (all || Q.map.incidents) syncIncidents(patch);
      Q.map = { codes: new Set(), all: false, incidents: false };
      return true;
    }

    function fitMap(patch, bounds) {
      var el = document.getElementById(cfg().ids.map);
      if (!el || !bounds) return;
      var box = el.getBoundingClientRect();
      if (box.width < 50 || box.height < 50) return;
      var dlon = Math.max(bounds[2] - bounds[0], 0.01);
      var dlat = Math.max(bounds[3] - bounds[1], 0.01);
      var fit = Math.min((box.width * 360) / (512 * dlon), (box.height * 360) / (512 * dlat)) * 0.92;
      var zoom = Math.round(Math.min(Math.log2(fit), 15) * 100) / 100;
      patch.assign(["layout", "map", "zoom"], zoom);
      patch.assign(["layout", "map", "center"], {
        lat: (bounds[1] + bounds[3]) / 2,
        lon: (bounds[0] + bounds[2]) / 2,
      });
    }

    function syncIncidents(patch) {
      var th = cfg().theme;
      var placed = [];
      store.incidents.forEach(function (inc) {
        if (inc.lat !== null && inc.lon !== null) placed.push(inc);
      });
      placed.sort(function (a, b) {
        return a.severity - b.severity || a.id - b.id;
      });
      var i18n = cfg().i18n;
      var w = i18n.words;
      var k = dash.scale();
      var sig = JSON.stringify(
        placed.map(function (i) {
          return [i.id, i.severity, i.status, i.reports];
        })
      );
      if (M.incidents === sig) return;
      M.incidents = sig;
      var colours = placed.map(function (i) {
        return th.severity_colours[String(i.severity)];
      });
      var common = {
        ids: placed.map(function (i) {
          return String(i.id);
        }),
        lat: placed.map(function (i) {
          return i.lat;
        }),
        lon: placed.map(function (i) {
          return i.lon;
        }),
      };
      [1, 2].forEach(function (trace) {
        patch.assign(["data", trace, "ids"], common.ids);
        patch.assign(["data", trace, "lat"], common.lat);
        patch.assign(["data", trace, "lon"], common.lon);
        patch.assign(["data", trace, "marker", "color"], colours);
      });
      patch.assign(
        ["data", 1, "marker", "size"],
        placed.map(function (i) {
          return (th.ring.base + th.ring.per_severity * i.severity) * k;
        })
      );
      patch.assign(
        ["data", 2, "marker", "size"],
        placed.map(function (i) {
          return (th.core.base + th.core.per_severity * i.severity) * k;
        })
      );
      patch.assign(
        ["data", 2, "hovertext"],
        placed.map(function (i) {
          return (
            "<b>" + text.fmt(w.sev, { n: i.severity }) + " " + i18n.categories[i.category] + "</b><br>" +
            "TPS " + (i.tps || "—") + " · " + text.hhmm(ms(i.opened_at)) + " " + w.wib + "<br>" +
            i.reported_by.join(", ") + "<br>" + text.esc((i.description || "").slice(0, 120))
          );
        })
      );
    }

    function scaleFonts(patch, fig) {
      // Chart text is sized for 1920x1080 in pixels; a 4K wall gets it (and the label margin) larger.
      var k = dash.scale();
      if (k <= 1) return false;
      var layout = fig.layout;
      patch.assign(["layout", "font", "size"], Math.round((layout.font.size || 13) * k));
      patch.assign(["layout", "margin", "l"], Math.round(layout.margin.l * k));
      patch.assign(["layout", "margin", "b"], Math.round(layout.margin.b * k));
      fig.data.forEach(function (tr, i) {
        if (tr.type === "scatter" && tr.marker && typeof tr.marker.size === "number") {
          patch.assign(["data", i, "marker", "size"], tr.marker.size * k);
        }
      });
      (layout.annotations || []).forEach(function (a, i) {
        patch.assign(["layout", "annotations", i, "font", "size"], Math.round(a.font.size * k));
      });
      return true;
    }

    function phaseIndex(t) {
      return markers.phaseIndex(t, cfg().theme);
    }

    function syncTimeline() {
      var id = cfg().ids.timeline;
      var fig = bridge.figureOf(id);
      if (!fig || !fig.layout || !fig.layout.meta || fig.layout.meta.kind !== "timeline" || !fig.data.length) {
        return;
      }
      var meta = fig.layout.meta;
      var patch = bridge.newPatch();
      var touched = false;
      if (!T || T.rev !== meta.rev) {
        T = {
          rev: meta.rev,
          start: Date.parse(meta.start),
          end: Date.parse(meta.day_end),
          bin: meta.bin_s * 1000,
          filled: meta.bins,
          row: new Map(),
          marks: new Set(),
          nowX: null,
          rangeEnd: Date.parse(fig.layout.xaxis.range[1].replace(" ", "T") + "+07:00"),
        };
        (fig.data[0].y || []).forEach(function (code, r) {
          T.row.set(code, r);
        });
        [1, 2, 3].forEach(function (k) {
          var tr = fig.data[k];
          for (var i = 0; tr && i < tr.x.length; i++) T.marks.add(tr.x[i] + "|" + tr.y[i] + "|" + k);
        });
        if (scaleFonts(patch, fig)) touched = true;
        Q.timeline.all = true; // this state may be newer than the figure's last column
      }
      var at = store.serverNow();
      var bin = Math.floor((at - T.start) / T.bin);
      var lastBin = Math.round((T.end - T.start) / T.bin) - 1;
      var pending = Q.timeline;
      Q.timeline = { codes: new Set(), all: false };
      if (bin > lastBin && !T.renewed) {
        // A new election day's picture (05:00 WIB): the server draws its figures afresh.
        T.renewed = true;
        o.onNewDay();
      }
      if (bin > lastBin || bin < 0) return;
      if (bin >= T.filled) {
        // Time moved into new bins: extend every row with what each TPS shows now.
        var z = fig.data[0].z.map(function (row, r) {
          var code = fig.data[0].y[r];
          var t = store.tps.get(code);
          var out = row.slice();
          for (var b = T.filled; b <= bin; b++) out[b] = t ? phaseIndex(t) : 0;
          return out;
        });
        var xs = fig.data[0].x.slice();
        for (var b = T.filled; b <= bin; b++) xs.push(text.axisTime(T.start + (b + 0.5) * T.bin));
        patch.assign(["data", 0, "z"], z);
        patch.assign(["data", 0, "x"], xs);
        for (var nb = T.filled; nb <= bin; nb++) {
          T.row.forEach(function (_, code) {
            markProblem(patch, code, nb);
          });
        }
        T.filled = bin + 1;
        touched = true;
      } else if (pending.codes.size || pending.all) {
        var codes = pending.all ? Array.from(T.row.keys()) : Array.from(pending.codes);
        var zrows = fig.data[0].z;
        codes.forEach(function (code) {
          var r = T.row.get(code);
          var t = store.tps.get(code);
          if (r === undefined || !t) return;
          var v = phaseIndex(t);
          if (zrows[r][bin] !== v) {
            patch.assign(["data", 0, "z", r, bin], v);
            touched = true;
          }
          if (markProblem(patch, code, bin)) touched = true;
        });
      }
      var nowX = text.axisTime(at);
      if (!T.nowX || nowX.slice(0, 16) !== T.nowX.slice(0, 16)) {
        T.nowX = nowX;
        patch.assign(["layout", "shapes", 0, "x0"], nowX);
        patch.assign(["layout", "shapes", 0, "x1"], nowX);
        touched = true;
        var wanted = Math.min(at + 3600 * 1000, T.end);
        if (wanted > T.rangeEnd) {
          T.rangeEnd = wanted;
          patch.assign(["layout", "xaxis", "range"], [text.axisTime(T.start), text.axisTime(wanted)]);
        }
      }
      if (touched) bridge.send(id, patch);
    }

    function markProblem(patch, code, bin) {
      var t = store.tps.get(code);
      if (!t) return false;
      var k = markers.problemOf(t, store.stale.has(t.code));
      if (!k) return false;
      var x = text.axisTime(T.start + (bin + 0.5) * T.bin);
      var key = x + "|" + code + "|" + k;
      if (T.marks.has(key)) return false;
      T.marks.add(key);
      patch.append(["data", k, "x"], x);
      patch.append(["data", k, "y"], code);
      return true;
    }

    function syncProgress() {
      var id = cfg().ids.progress;
      var fig = bridge.figureOf(id);
      if (!fig || !fig.layout || !fig.layout.meta || fig.layout.meta.kind !== "progress") return false;
      var meta = fig.layout.meta;
      var patch = bridge.newPatch();
      var touched = false;
      if (!P || P.rev !== meta.rev) {
        P = {
          rev: meta.rev,
          kec: meta.kecamatan,
          x: fig.data.map(function (tr) {
            return tr.x.slice();
          }),
        };
        touched = scaleFonts(patch, fig);
      }
      var keys = fig.data.map(function (tr) {
        return tr.meta;
      });
      var counts = keys.map(function () {
        return P.kec.map(function () {
          return 0;
        });
      });
      var kecIndex = new Map();
      P.kec.forEach(function (k, i) {
        kecIndex.set(k, i);
      });
      store.tps.forEach(function (t) {
        var r = kecIndex.get(t.kecamatan_code);
        var k = keys.indexOf(t.phase || "belum");
        if (r !== undefined && k >= 0) counts[k][r] += 1;
      });
      counts.forEach(function (arr, k) {
        if (arr.join(",") !== P.x[k].join(",")) {
          P.x[k] = arr;
          patch.assign(["data", k, "x"], arr);
          touched = true;
        }
      });
      if (touched) bridge.send(id, patch);
      return true;
    }

    /** What a graph's draw (its pending class going on or off) means; `t` is now(). */
    function noteDraw(which, pending, t) {
      if (which === "map") {
        var mapMs = mapMeter.note("map", pending, t);
        if (mapMs !== null) {
          mapCost = mapMs;
          stats.mapDraws = (stats.mapDraws || 0) + 1;
          stats.mapDrawMs = (stats.mapDrawMs || 0) + mapMs;
        }
        if (!pending && M && inflight.length) {
          var drawn = new Set();
          inflight.forEach(function (c) {
            M.shownColour[c[0]] = c[1];
            M.shownSize[c[0]] = c[2];
            drawn.add(M.codes[c[0]]);
          });
          inflight = [];
          if (o.overlay) o.overlay.settled(drawn);
        }
        // The next change goes out as soon as the map is done.
        if (!pending && (store.changed.codes.size || Q.map.codes.size)) o.onIdle();
        return;
      }
      var ms = chartsMeter.note(which, pending, t);
      if (ms !== null) {
        chartsCost = ms;
        stats.chartDraws = (stats.chartDraws || 0) + 1;
        stats.chartDrawMs = (stats.chartDrawMs || 0) + ms;
      }
    }

    function watchGraphs() {
      // dcc.Graph holds a pending class while it draws (Plotly.react until its promise settles;
      // for the map that includes MapLibre's repaint): when it goes, the draw is done.
      var ids = cfg().ids;
      ["map", "timeline", "progress"].forEach(function (which) {
        var gd = ids[which] && bridge.plotOf(ids[which]);
        if (!gd || gd.__poskoWatched || !window.MutationObserver) return;
        gd.__poskoWatched = true;
        var was = gd.classList.contains("dash-graph--pending");
        new MutationObserver(function () {
          var pending = gd.classList.contains("dash-graph--pending");
          if (pending === was) return;
          was = pending;
          noteDraw(which, pending, now());
        }).observe(gd, { attributes: true, attributeFilter: ["class"] });
      });
    }

    return {
      take: take,
      drawMap: drawMap,
      drawCharts: drawCharts,
      watchGraphs: watchGraphs,
      noteDraw: noteDraw,
      /** Forget the figures held: the next draw starts from what Dash holds now. */
      reset: function () {
        M = null;
        T = null;
        P = null;
      },
      /** The map is refitted and its markers rescaled at the next draw (the window resized). */
      refit: function () {
        M = null;
      },
      /** What the map shows, for the overlay (62-overlay.js); null before the first draw. */
      mapView: function () {
        if (!M) return null;
        return {
          rev: M.rev,
          mode: M.mode,
          codes: M.codes,
          index: M.index,
          lat: M.lat,
          lon: M.lon,
          opacity: M.opacity,
          colour: M.shownColour,
          size: M.shownSize,
        };
      },
      appliedAt: function (code) {
        return applied.get(code) || null;
      },
      appliedVersion: function (code) {
        return appliedVersion.get(code) || null;
      },
    };
  }

  return { createFigures: createFigures, chartsGap: chartsGap, mapGap: mapGap, createMeter: createMeter };
});
