/* Click to see, for the city map (map.js wires it): what the server finds at a point, shown as a bottom
   sheet on phones and as a Leaflet popup kept clear of the map's controls on wider screens. The parcel's
   own facts come first, then the zones and the rest; every label and value is set as text, never as HTML. */
(function () {
  "use strict";

  var SHEET_SCREEN = window.matchMedia("(max-width: 640px)");
  // What floats over the map and must never cover the click result (checked at every click: they move).
  var TOP_OVERLAYS = ".leaflet-top.leaflet-left .leaflet-control, .map-search, .as-of-banner:not([hidden])";
  var BOTTOM_OVERLAYS = ".leaflet-bottom .leaflet-control, .map-status:not([hidden])";
  var SIDE_OVERLAYS = ".layer-panel:not([hidden]), .leaflet-top.leaflet-right .leaflet-control";
  var GAP = 8;

  function english() { return document.documentElement.lang === "en"; }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A day as every page prints it: 02/12/2026 in Vietnamese, 2 Dec 2026 in English.
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function dayText(day) {
    var part = String(day).slice(0, 10).split("-");
    if (english()) return Number(part[2]) + " " + MONTHS[Number(part[1]) - 1] + " " + part[0];
    return part[2] + "/" + part[1] + "/" + part[0];
  }

  function valueText(layer, field, value) {
    // Coded values read better with their name, as the legend gives it ("ODT – Đất ở tại đô thị").
    var legend = layer.legend || {};
    if (field && field.name === legend.attribute) {
      for (var i = 0; i < legend.entries.length; i++) {
        if (legend.entries[i].value === String(value)) return legend.entries[i].label;
      }
    }
    if (field && field.type === "date" && /^\d{4}-\d{2}-\d{2}/.test(String(value))) return dayText(value);
    if (typeof value === "number") {  // 53.943,9 in Vietnamese, 53,943.9 in English
      return value.toLocaleString(english() ? "en" : "vi-VN", { maximumFractionDigits: 2 });
    }
    return String(value);
  }

  function fieldList(rows) {
    // rows: [{label, value}] → a <dl>, a label above its value; empty values left out.
    var list = element("dl", "fields");
    rows.forEach(function (row) {
      if (row.value === undefined || row.value === null || row.value === "") return;
      list.appendChild(element("dt", "", row.label));
      list.appendChild(element("dd", "", row.value));
    });
    return list;
  }

  function sameSite(url) { return typeof url === "string" && /^\/(?!\/)/.test(url); }

  function links(box, url, strings, report) {
    // The parcel's planning page and its printable planning information sheet (same-site links only), and
    // the report form for this feature (a resident tells the office the data is wrong; no account needed).
    var row = element("p", "result-links");
    if (sameSite(url)) {
      var page = element("a", "planning-link", strings.planning_info);
      page.setAttribute("href", url);
      var sheet = element("a", "sheet-link", strings.sheet_pdf);
      sheet.setAttribute("href", url.replace(/\/?$/, "/") + "phieu.pdf");
      row.appendChild(page);
      row.appendChild(sheet);
    }
    if (sameSite(report)) {
      var tell = element("a", "report-link", strings.report_error);
      tell.setAttribute("href", report);
      row.appendChild(tell);
    }
    if (row.childNodes.length) box.appendChild(row);
  }

  function reportUrl(formUrl, slug, id) {
    if (!sameSite(formUrl) || typeof id !== "number") return null;
    return formUrl + "?" + new URLSearchParams({ layer: slug, feature: String(id) });
  }

  // Popup or sheet content from the tile's own attributes (only when the server query is not available).
  function tileContent(layer, properties, strings) {
    var box = element("div", "feature-popup");
    box.appendChild(element("h3", "", layer.title));
    var list = fieldList((layer.fields || []).map(function (field) {
      var value = properties ? properties[field.name] : undefined;
      return { label: field.label, value: value === undefined || value === null ? value : valueText(layer, field, value) };
    }));
    box.appendChild(list.childNodes.length ? list : element("p", "", strings.no_fields || ""));
    return box;
  }

  function ordered(results) {
    // The parcel first (the result that links to a planning page), then the others in the layers' order.
    var parcels = results.filter(function (r) { return r.features.some(function (f) { return sameSite(f.url); }); });
    return parcels.concat(results.filter(function (r) { return parcels.indexOf(r) === -1; }));
  }

  function serverContent(results, layersBySlug, strings, formUrl) {
    var box = element("div", "feature-popup");
    if (!results.length) {
      box.appendChild(element("p", "", strings.nothing_here || ""));
      return box;
    }
    ordered(results).forEach(function (result) {
      var layer = layersBySlug[result.layer] || { fields: [], legend: { entries: [] } };
      var section = element("section", "result result-" + (sameSite((result.features[0] || {}).url) ? "parcel" : "layer"));
      section.setAttribute("data-layer", result.layer);
      section.appendChild(element("h3", "", result.title));
      result.features.forEach(function (feature) {
        var list = fieldList(feature.fields.map(function (row) {
          var field = (layer.fields || []).filter(function (f) { return f.label === row.label; })[0];
          var value = row.value === null || row.value === undefined ? row.value : valueText(layer, field, row.value);
          return { label: row.label, value: value };
        }));
        section.appendChild(list.childNodes.length ? list : element("p", "", strings.no_fields || ""));
        links(section, feature.url, strings, reportUrl(formUrl, result.layer, feature.id));
      });
      box.appendChild(section);
    });
    return box;
  }

  function errorText(body, strings) {
    if (body && (body.description || body.description_vi)) return english() ? body.description : body.description_vi;
    return strings.lookup_failed || "";
  }

  // Room the popup keeps from the controls: below everything at the top left (and the search box), above
  // everything at the bottom, left of the layer panel; Leaflet pans the map to keep the popup inside.
  function popupPadding(map) {
    var box = map.getContainer().getBoundingClientRect();
    var pad = { top: GAP, bottom: GAP, right: GAP };
    function each(selector, use) {
      document.querySelectorAll(selector).forEach(function (node) {
        var r = node.getBoundingClientRect();
        if (r.width && r.height && r.bottom > box.top && r.top < box.bottom) use(r);
      });
    }
    each(TOP_OVERLAYS, function (r) { pad.top = Math.max(pad.top, r.bottom - box.top + GAP); });
    each(BOTTOM_OVERLAYS, function (r) { pad.bottom = Math.max(pad.bottom, box.bottom - r.top + GAP); });
    each(SIDE_OVERLAYS, function (r) { pad.right = Math.max(pad.right, box.right - r.left + GAP); });
    return pad;
  }

  function Sheet(map, strings) {
    this.map = map;
    this.node = document.getElementById("feature-sheet");
    this.body = this.node && this.node.querySelector(".sheet-body");
    this.marker = null;
    this.opener = null;
    if (this.node) this.wire(strings);
  }

  Sheet.prototype.wire = function () {
    var self = this, node = this.node;
    node.querySelector(".sheet-close").addEventListener("click", function () { self.close(); });
    node.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { event.stopPropagation(); self.close(); }
    });
    var handle = node.querySelector(".sheet-handle");
    handle.addEventListener("click", function () { if (!self.dragged) self.expand(!node.classList.contains("is-expanded")); });
    // Dragging the handle resizes the sheet; let go low and it closes, high and it fills the map.
    var start = null;
    handle.addEventListener("pointerdown", function (event) {
      start = { y: event.clientY, height: node.offsetHeight };
      self.dragged = false;
      handle.setPointerCapture(event.pointerId);
    });
    handle.addEventListener("pointermove", function (event) {
      if (!start) return;
      var height = start.height + start.y - event.clientY;
      if (Math.abs(start.y - event.clientY) > 6) self.dragged = true;
      if (self.dragged) node.style.maxHeight = Math.max(48, Math.min(height, self.room())) + "px";
    });
    handle.addEventListener("pointerup", function () {
      if (!start) return;
      var share = node.offsetHeight / self.room();
      start = null;
      node.style.maxHeight = "";
      if (!self.dragged) return;
      if (share < 0.25) self.close(); else self.expand(share > 0.65);
      setTimeout(function () { self.dragged = false; }, 0);
    });
  };

  Sheet.prototype.room = function () { return this.map.getContainer().offsetHeight; };

  Sheet.prototype.expand = function (full) {
    this.node.classList.toggle("is-expanded", full);
    document.body.classList.toggle("sheet-expanded", full);
    this.node.querySelector(".sheet-handle").setAttribute("aria-expanded", full ? "true" : "false");
  };

  Sheet.prototype.open = function (latlng, content) {
    var map = this.map, wasOpen = !this.node.hidden;
    this.body.textContent = "";
    this.body.appendChild(content);
    if (!wasOpen) {
      this.opener = document.activeElement;
      this.expand(false);
    }
    this.node.hidden = false;
    document.body.classList.add("sheet-open");
    closeLayerPanel();
    if (this.marker) this.marker.setLatLng(latlng);
    else this.marker = L.circleMarker(latlng, { radius: 7, color: "#b00020", weight: 3, fillOpacity: 0.2, interactive: false }).addTo(map);
    this.keepInSight();
    if (!wasOpen) this.node.focus({ preventScroll: true });
  };

  Sheet.prototype.keepInSight = function () {
    // The clicked point stays in sight above the sheet (in the middle of what the sheet leaves).
    if (!this.marker) return;
    var point = this.map.latLngToContainerPoint(this.marker.getLatLng());
    var free = this.room() - this.node.offsetHeight;
    if (point.y > free - 24 || point.y < 24) this.map.panBy([0, point.y - free / 2], { animate: false });
  };

  Sheet.prototype.update = function (content) {
    if (this.node.hidden) return;
    this.body.textContent = "";
    this.body.appendChild(content);
    this.keepInSight();
  };

  Sheet.prototype.close = function () {
    if (!this.node || this.node.hidden) return;
    this.node.hidden = true;
    this.body.textContent = "";
    document.body.classList.remove("sheet-open", "sheet-expanded");
    if (this.marker) { this.map.removeLayer(this.marker); this.marker = null; }
    var back = this.opener && document.contains(this.opener) ? this.opener : this.map.getContainer();
    back.focus({ preventScroll: true });
  };

  function closeLayerPanel() {
    // On a phone the layer panel is a bottom sheet too: one sheet at a time.
    var panel = document.getElementById("layer-panel");
    var button = document.querySelector(".panel-toggle");
    if (!panel || panel.hidden) return;
    panel.hidden = true;
    if (button) button.setAttribute("aria-expanded", "false");
  }

  // A place to show a click's result: the sheet on phones, a popup clear of the controls elsewhere.
  function Shower(map, strings) {
    this.map = map;
    this.sheet = new Sheet(map, strings);
    this.popup = null;
    var self = this;
    SHEET_SCREEN.addEventListener("change", function () { self.sheet.close(); map.closePopup(); });
    var toggle = document.querySelector(".panel-toggle");
    if (toggle) toggle.addEventListener("click", function () { self.sheet.close(); });
  }

  Shower.prototype.open = function (latlng, content) {
    if (SHEET_SCREEN.matches && this.sheet.node) {
      this.map.closePopup();
      this.sheet.open(latlng, content);
      return;
    }
    var pad = popupPadding(this.map), size = this.map.getSize();
    this.popup = L.popup({
      maxWidth: Math.min(320, size.x - pad.right - 2 * GAP), maxHeight: Math.max(120, size.y - pad.top - pad.bottom - 40),
      autoPanPaddingTopLeft: [GAP, pad.top], autoPanPaddingBottomRight: [pad.right, pad.bottom],
    }).setLatLng(latlng).setContent(content).openOn(this.map);
  };

  Shower.prototype.update = function (content) {
    if (SHEET_SCREEN.matches && this.sheet.node) this.sheet.update(content);
    else if (this.popup && this.popup.isOpen()) this.popup.setContent(content);
  };

  Shower.prototype.close = function () {
    this.sheet.close();
    this.map.closePopup();
  };

  // options: {url, strings, visibleSlugs(), layersBySlug, asOf(), reportUrl?}; returns the shower (map.js closes it on time travel).
  function wire(map, options) {
    var strings = options.strings, latest = 0;
    var shower = new Shower(map, strings);
    map.on("click", function (event) {
      var slugs = options.visibleSlugs();
      if (!slugs.length) return;
      var request = ++latest;
      shower.open(event.latlng, element("p", "feature-popup", strings.loading || "…"));
      var query = { lon: event.latlng.lng.toFixed(7), lat: event.latlng.lat.toFixed(7),
                    z: String(Math.round(map.getZoom())), layers: slugs.join(",") };
      if (options.asOf()) query.as_of = options.asOf();
      fetch(options.url + "?" + new URLSearchParams(query), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (answer) {
          if (request !== latest) return; // a newer click owns the result
          shower.update(answer.ok ? serverContent(answer.body.results || [], options.layersBySlug, strings, options.reportUrl)
            : element("p", "feature-popup", errorText(answer.body, strings)));
        })
        .catch(function () {
          if (request === latest) shower.update(element("p", "feature-popup", strings.lookup_failed || ""));
        });
    });
    return shower;
  }

  function showTileResult(map, latlng, layer, properties, strings) {
    // Without the server's click-to-see: the tile's own attributes, in the same sheet or popup.
    if (!map._gisportalShower) map._gisportalShower = new Shower(map, strings);
    map._gisportalShower.open(latlng, tileContent(layer, properties, strings));
  }

  window.gisportalClick = { wire: wire, showTileResult: showTileResult, valueText: valueText, dayText: dayText };
})();
