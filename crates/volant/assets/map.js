// Maps (Leaflet, vendored): the points a page lists, on the configured tiles.
// Leaflet is loaded only when a page has a map (its addresses are on the map
// element), on full and boosted page loads alike. Without tiles (offline, a
// tile server down or blocked) the map gives way to a note, and the page's own
// list of addresses stays. A map marked `data-pick` places a pin: a tap or a
// drag fills the form's latitude and longitude fields.
"use strict";

(function () {
  var loading = null;

  // Leaflet's script and style, once per page's life.
  function leaflet(element) {
    if (window.L) return Promise.resolve();
    if (!loading) {
      var add = function (tag, attributes) {
        return new Promise(function (resolve, reject) {
          var node = document.createElement(tag);
          Object.keys(attributes).forEach(function (name) { node[name] = attributes[name]; });
          node.onload = resolve;
          node.onerror = reject;
          document.head.appendChild(node);
        });
      };
      // Both before drawing; the markers' images are named outright.
      loading = Promise.all([
        add("link", { rel: "stylesheet", href: element.dataset.leafletCss }),
        add("script", { src: element.dataset.leafletJs }),
      ]).then(function () {
        L.Icon.Default.imagePath = element.dataset.leafletImages;
      }, function (error) { loading = null; throw error; });
    }
    return loading;
  }

  function number(text) {
    var value = parseFloat(String(text || "").replace(",", "."));
    return isFinite(value) ? value : null;
  }

  // Plain text for Leaflet's attribution control, which takes HTML.
  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text || "";
    return div.innerHTML;
  }

  function giveWay(element, fallback) {
    element.hidden = true;
    element.classList.add("map-failed");
    if (fallback) fallback.hidden = false;
  }

  function start(element) {
    if (element.dataset.mapReady) return;
    element.dataset.mapReady = "1";
    var scope = element.closest("[data-map-scope]") || document;
    var fallback = scope.querySelector("[data-map-fallback]");
    if (!navigator.onLine) { giveWay(element, fallback); return; }
    leaflet(element).then(function () { draw(element, scope, fallback); }, function () { giveWay(element, fallback); });
  }

  function draw(element, scope, fallback) {
    var map = L.map(element, { scrollWheelZoom: false });
    var loaded = 0, failed = 0;
    var tiles = L.tileLayer(element.dataset.tiles, {
      maxZoom: 19,
      attribution: escapeHtml(element.dataset.attribution),
    });
    tiles.on("tileload", function () { loaded += 1; element.dataset.tilesLoaded = String(loaded); });
    tiles.on("tileerror", function () {
      failed += 1;
      if (loaded === 0 && failed >= 4) giveWay(element, fallback);
    });
    tiles.addTo(map);
    // A server that never answers: no tile after a while is no map.
    setTimeout(function () { if (loaded === 0) giveWay(element, fallback); }, 10000);

    var bounds = [];
    scope.querySelectorAll("[data-map-point]").forEach(function (point) {
      var lat = number(point.dataset.lat), lon = number(point.dataset.lon);
      if (lat === null || lon === null) return;
      var marker = L.marker([lat, lon], { title: point.dataset.label, alt: point.dataset.label }).addTo(map);
      var popup = document.createElement("div");
      var link = document.createElement(point.dataset.href ? "a" : "strong");
      link.textContent = point.dataset.label;
      if (point.dataset.href) link.href = point.dataset.href;
      popup.appendChild(link);
      if (point.dataset.detail) {
        var detail = document.createElement("div");
        detail.textContent = point.dataset.detail;
        popup.appendChild(detail);
      }
      marker.bindPopup(popup);
      bounds.push([lat, lon]);
    });

    if (element.hasAttribute("data-pick")) {
      var form = element.closest("form") || scope;
      var latField = form.querySelector("[name=latitude]"), lonField = form.querySelector("[name=longitude]");
      var pin = null;
      var place = function (lat, lon) {
        if (pin) pin.setLatLng([lat, lon]);
        else {
          pin = L.marker([lat, lon], { draggable: true, title: element.dataset.pinLabel || "" }).addTo(map);
          pin.on("dragend", function () { var p = pin.getLatLng(); fill(p.lat, p.lng); });
        }
      };
      var fill = function (lat, lon) {
        if (latField) latField.value = lat.toFixed(6);
        if (lonField) lonField.value = lon.toFixed(6);
        element.dataset.picked = "1";
      };
      var typed = [number(latField && latField.value), number(lonField && lonField.value)];
      if (typed[0] !== null && typed[1] !== null) { place(typed[0], typed[1]); bounds = [typed]; }
      map.on("click", function (event) { place(event.latlng.lat, event.latlng.lng); fill(event.latlng.lat, event.latlng.lng); });
    }

    if (bounds.length === 1) map.setView(bounds[0], 15);
    else if (bounds.length > 1) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 15 });
    else map.setView([number(element.dataset.lat) || 46.6, number(element.dataset.lon) || 2.4], number(element.dataset.zoom) || 5);
  }

  function startAll(root) { (root || document).querySelectorAll("[data-map]").forEach(start); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { startAll(); });
  else startAll();
  document.addEventListener("htmx:load", function (event) { startAll(event.target); });
})();
