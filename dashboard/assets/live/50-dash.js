/*
 * Posko live client · dash: the one door to Dash. Reads a component's props from the layout,
 * writes props with dash_clientside.set_props (a Patch for figures), and remembers the text it
 * last wrote so an unchanged counter costs no render pass.
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
})(typeof self !== "undefined" ? self : this, "dash", [], function () {
  "use strict";

  /** The bridge of one page; `stats` gets `patches` and `lastPatchBytes`. */
  function createBridge(stats) {
    var shown = new Map(); // element key -> text last written (counters, header)

    function layoutOf(id) {
      try {
        var api = window.dash_component_api;
        var c = api && api.getLayout ? api.getLayout(id) : null;
        return c && c.props ? c.props : c || null;
      } catch {
        return null;
      }
    }

    function figureOf(id) {
      var props = layoutOf(id);
      return props && props.figure ? props.figure : null;
    }

    function setProps(id, props) {
      if (!window.dash_clientside || !window.dash_clientside.set_props) return false;
      if (!layoutOf(id)) return false; // not on this page (any more)
      window.dash_clientside.set_props(id, props);
      return true;
    }

    // Write `props` unless what `key` last showed is `sig` already.
    function setOnce(id, key, sig, props) {
      if (shown.get(key) === sig) return;
      if (setProps(id, props)) shown.set(key, sig);
    }

    function setText(id, key, text) {
      setOnce(id, key, text, { children: text });
    }

    function newPatch() {
      return new window.dash_clientside.Patch();
    }

    function send(id, patch) {
      var built = patch.build();
      if (!built.operations.length) return false;
      stats.patches += 1;
      stats.lastPatchBytes = JSON.stringify(built).length;
      return setProps(id, { figure: built });
    }

    function plotOf(id) {
      return document.querySelector("#" + id + " .js-plotly-plot");
    }

    function busy(id) {
      // dcc.Graph draws every figure it is given, one after the other: handing it patches faster
      // than it draws (a map takes 0.2-0.5 s with software WebGL) builds an ever longer queue and
      // the screen falls minutes behind. So a graph gets its next patch only when it is idle,
      // and that patch carries everything that changed meanwhile.
      var gd = plotOf(id);
      return !gd || gd.classList.contains("dash-graph--pending");
    }

    return {
      shown: shown,
      layoutOf: layoutOf,
      figureOf: figureOf,
      setProps: setProps,
      setOnce: setOnce,
      setText: setText,
      newPatch: newPatch,
      send: send,
      plotOf: plotOf,
      busy: busy,
    };
  }

  /** A dash_html_components element as set_props takes it. */
  function comp(type, props) {
    return { type: type, namespace: "dash_html_components", props: props };
  }

  function scale() {
    // Marker sizes and chart fonts are set for 1920x1080; a 4K wall gets them doubled.
    return Math.max(1, Math.min(window.innerWidth / 1920, window.innerHeight / 1080));
  }

  return { createBridge: createBridge, comp: comp, scale: scale };
});
