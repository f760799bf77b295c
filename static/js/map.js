/* The city map: django-leaflet's map, the catalog's layers as vector tiles (Leaflet.VectorGrid),
   and the layer panel the page renders. Configuration arrives in json_script elements (the CSP
   allows no inline script); data strings reach the DOM only as text, never as HTML. */
(function () {
  "use strict";

  function readJson(id, fallback) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : fallback;
  }

  var mapOptions = readJson("map-options", {});
  var mapLayers = readJson("map-layers", []);
  var strings = readJson("map-strings", {});
  var apiUrls = readJson("map-urls", {});
  var basemapConfig = readJson("map-basemaps", {});
  // The day the vector layers are shown as of ("YYYY-MM-DD", from their history), or "" for now.
  var asOf = "";
  var DAY = /^\d{4}-\d{2}-\d{2}$/;
  var SERVER_CLICK = Boolean(apiUrls.features_at);
  var SMALL_SCREEN = window.matchMedia("(max-width: 600px)");
  var clickShower = null;  // the click result's sheet or popup (map-click.js)

  // Leaflet's attribution control renders HTML: catalog text is escaped before it gets there.
  function escapeHtml(text) {
    var entities = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
    return String(text).replace(/[&<>"']/g, function (c) { return entities[c]; });
  }

  function isLine(layer) {
    return /LineString/.test(layer.geometry_type || "");
  }

  function styleFor(layer) {
    var legend = layer.legend || { entries: [], default: "#3388ff" };
    var colours = Object.create(null);
    legend.entries.forEach(function (entry) { colours[entry.value] = entry.color; });
    var line = isLine(layer);
    // Boundaries are outlines with a faint fill (the fill keeps them clickable) so layers below show.
    var fillOpacity = layer.outline ? 0.04 : 0.35;
    var weight = line ? 3 : (layer.outline ? 2 : 1);
    return function (properties) {
      var value = properties && legend.attribute ? properties[legend.attribute] : undefined;
      var colour = value !== undefined && value !== null && colours[String(value)] ? colours[String(value)] : legend.default;
      return {
        color: colour, weight: weight, opacity: 0.9,
        fill: !line, fillColor: colour, fillOpacity: fillOpacity, radius: 5,
      };
    };
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function makeTileLayer(map, layer) {
    if (layer.kind === "raster") {
      return L.tileLayer(layer.tile_url, {
        minZoom: layer.min_zoom, maxZoom: map.getMaxZoom(), maxNativeZoom: layer.max_zoom,
        opacity: 0.8, zIndex: layer.z_index, className: "layer-" + layer.slug, attribution: escapeHtml(layer.attribution || ""),
      });
    }
    var styles = {};
    styles[layer.slug] = styleFor(layer);
    var grid = L.vectorGrid.protobuf(vectorUrl(layer), {
      rendererFactory: L.canvas.tile,
      vectorTileLayerStyles: styles,
      // With the server's click-to-see the tiles need no hit-testing; clicks go to the map.
      interactive: !SERVER_CLICK,
      // Outside its zoom range the layer asks for no tiles at all.
      minZoom: layer.min_zoom,
      maxZoom: layer.max_zoom,
      zIndex: layer.z_index,
      className: "layer-" + layer.slug,
      attribution: escapeHtml(layer.attribution || ""),
      fetchOptions: { credentials: "same-origin" },
    });
    grid.setOpacity(0.8);
    if (!SERVER_CLICK) grid.on("click", function (event) {
      L.DomEvent.stopPropagation(event);
      window.gisportalClick.showTileResult(map, event.latlng, layer, event.layer && event.layer.properties, strings);
    });
    return grid;
  }

  function vectorUrl(layer) {
    return asOf ? layer.tile_url + "?" + new URLSearchParams({ as_of: asOf }) : layer.tile_url;
  }

  // The city's own basemap: boundaries (the city's land, current wards), water and roads, drawn from
  // the platform's layers in one tile per place. Muted colours, so the data layers stand out.
  var BASEMAP_STYLES = {
    boundaries: function (properties) {
      if (!properties || properties.level === undefined) return { color: "#9a93a8", weight: 1, fill: false };
      if (properties.level === "city") {
        return { color: "#6b6478", weight: 2, opacity: 0.9, fill: true, fillColor: "#f7f5f0", fillOpacity: 1 };
      }
      if (properties.level === "ward" && !properties.valid_to) {  // wards in force, not the former ones
        return { color: "#9a93a8", weight: 1, opacity: 0.9, dashArray: "5 4", fill: false };
      }
      return [];  // neighbourhoods and former wards are not part of the basemap
    },
    water: function () {
      return { color: "#8fbcd9", weight: 1, fill: true, fillColor: "#b5d6ea", fillOpacity: 1 };
    },
    roads: function (properties, zoom) {
      var main = properties && properties.road_class === "main";
      var width = zoom >= 16 ? (main ? 7 : 4) : zoom >= 14 ? (main ? 4 : 2) : (main ? 2.5 : 1);
      if (!main && zoom < 13) return [];
      return [{ color: main ? "#e2b86b" : "#d3d0c8", weight: width + 1.5, opacity: 1, lineCap: "round" },
              { color: main ? "#fbe3a8" : "#ffffff", weight: width, opacity: 1, lineCap: "round" }];
    },
  };

  function cityBasemap(config) {
    var styles = {};
    Object.keys(config.roles).forEach(function (slug) { styles[slug] = BASEMAP_STYLES[config.roles[slug]]; });
    return L.vectorGrid.protobuf(config.tile_url, {
      rendererFactory: L.canvas.tile, vectorTileLayerStyles: styles, interactive: false,
      minZoom: config.min_zoom, maxZoom: config.max_zoom, zIndex: 0, className: "city-basemap",
      attribution: escapeHtml(config.attribution || ""), fetchOptions: { credentials: "same-origin" },
    });
  }

  // Basemaps: the city's own by default; an outside one only when the portal is configured with it.
  function addBasemaps(map) {
    var choices = {}, first = null;
    if (basemapConfig.city) {
      var city = first = choices[escapeHtml(basemapConfig.city.title)] = cityBasemap(basemapConfig.city);
      map.on("baselayerchange", function (event) {
        map.getContainer().classList.toggle("has-city-basemap", event.layer === city);
      });
      map.getContainer().classList.add("has-city-basemap");
    }
    if (basemapConfig.outside) {
      var outside = L.tileLayer(basemapConfig.outside.tile_url, {
        attribution: escapeHtml(basemapConfig.outside.attribution || ""), zIndex: 0, maxZoom: map.getMaxZoom(),
      });
      choices[escapeHtml(basemapConfig.outside.title)] = outside;
      first = first || outside;
    }
    if (!first) return;
    first.addTo(map);
    // The switcher writes names as HTML: they are escaped above.
    choices[escapeHtml(basemapConfig.none_title)] = L.layerGroup();
    L.control.layers(choices, null, { position: "bottomleft", collapsed: true }).addTo(map);
  }

  function dayText(day) { return window.gisportalClick.dayText(day); }

  // Time travel: the vector layers (and click-to-see) as they were at the end of a chosen day.
  function wireAsOf(map, tileLayers, onChange) {
    var input = document.getElementById("as-of");
    var reset = document.getElementById("as-of-reset");
    var banner = L.DomUtil.create("p", "as-of-banner", map.getContainer());
    banner.setAttribute("role", "status");
    var drawn = asOf;  // the day the tile layers were made for
    function apply(day) {
      asOf = DAY.test(day) ? day : "";
      if (input) input.value = asOf;
      if (reset) reset.hidden = !asOf;
      banner.hidden = !asOf;
      if (asOf) banner.textContent = (strings.as_of_note || "").replace("%(date)s", dayText(asOf));
      if (asOf === drawn) return;
      drawn = asOf;
      mapLayers.forEach(function (layer) {
        if (layer.kind === "vector") tileLayers[layer.slug].setUrl(vectorUrl(layer));
      });
      map.closePopup();
      if (clickShower) clickShower.close();
      onChange();
    }
    if (input) input.addEventListener("change", function () { apply(input.value); });
    if (reset) reset.addEventListener("click", function () { apply(""); if (input) input.focus(); });
    return apply;
  }

  function inZoomRange(map, layer) {
    var zoom = map.getZoom();
    // A raster is drawn beyond its last zoom level (its tiles enlarged), so only its first level limits it.
    return zoom >= layer.min_zoom && (layer.kind === "raster" || zoom <= layer.max_zoom);
  }

  function panelItem(slug, selector) {
    return document.querySelector('.layer-item[data-slug="' + CSS.escape(slug) + '"] ' + selector);
  }

  function wirePanel(map, tileLayers, onChange) {
    mapLayers.forEach(function (layer) {
      var tiles = tileLayers[layer.slug];
      var item = document.querySelector('.layer-item[data-slug="' + CSS.escape(layer.slug) + '"]');
      var toggle = panelItem(layer.slug, ".layer-toggle");
      var slider = panelItem(layer.slug, '.layer-opacity input[type="range"]');
      if (!item || !toggle || !slider) return;
      toggle.addEventListener("change", function () {
        if (toggle.checked) tiles.addTo(map); else map.removeLayer(tiles);
        item.classList.toggle("is-off", !toggle.checked);
        onChange();
      });
      slider.addEventListener("input", function () {
        tiles.setOpacity(Number(slider.value) / 100);
      });
    });
    function showZoomHints() {
      mapLayers.forEach(function (layer) {
        var item = document.querySelector('.layer-item[data-slug="' + CSS.escape(layer.slug) + '"]');
        var hint = panelItem(layer.slug, ".zoom-hint");
        if (!item || !hint) return;
        var visible = inZoomRange(map, layer);
        item.classList.toggle("out-of-zoom", !visible);
        hint.hidden = visible;
      });
    }
    map.on("zoomend", showZoomHints);
    showZoomHints();
  }

  function wirePanelToggle() {
    var button = document.querySelector(".panel-toggle");
    var panel = document.getElementById("layer-panel");
    if (!button || !panel) return;
    function setOpen(open) {
      panel.hidden = !open;
      button.setAttribute("aria-expanded", open ? "true" : "false");
    }
    setOpen(!SMALL_SCREEN.matches); // on a phone the map comes first; the panel opens on demand
    button.addEventListener("click", function () {
      var open = panel.hidden;
      setOpen(open);
      if (open) {
        var first = panel.querySelector("input");
        if (first) first.focus();
      }
    });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && SMALL_SCREEN.matches) {
        setOpen(false);
        button.focus();
      }
    });
  }

  // Permalink: the URL's fragment carries zoom, centre, the visible layers and the day shown, if not
  // today: #z/lat/lon/slug,slug[/YYYY-MM-DD]
  function readPermalink() {
    var parts = window.location.hash.replace(/^#/, "").split("/");
    if (parts.length < 3) return null;
    var zoom = parseInt(parts[0], 10), lat = parseFloat(parts[1]), lon = parseFloat(parts[2]);
    if (!isFinite(zoom) || !isFinite(lat) || !isFinite(lon) || Math.abs(lat) > 85 || Math.abs(lon) > 180) return null;
    var known = {};
    mapLayers.forEach(function (layer) { known[layer.slug] = true; });
    var slugs = parts.length > 3 ? decodeURIComponent(parts[3]).split(",").filter(function (slug) { return known[slug]; }) : null;
    var day = parts.length > 4 && DAY.test(parts[4]) ? parts[4] : "";
    return { zoom: zoom, center: [lat, lon], slugs: slugs, asOf: day };
  }

  function writePermalink(map, tileLayers) {
    var centre = map.getCenter();
    var slugs = mapLayers.filter(function (layer) { return map.hasLayer(tileLayers[layer.slug]); })
      .map(function (layer) { return layer.slug; });
    var parts = [map.getZoom(), centre.lat.toFixed(5), centre.lng.toFixed(5), slugs.join(",")];
    if (asOf) parts.push(asOf);
    var hash = "#" + parts.join("/");
    window.history.replaceState(null, "", hash);
    // The language switch comes back to the same view.
    var next = document.querySelector('.lang-switch input[name="next"]');
    if (next) next.value = window.location.pathname + window.location.search + hash;
  }

  function applyPermalinkLayers(link) {
    if (!link || !link.slugs) return;
    mapLayers.forEach(function (layer) {
      layer.visible = link.slugs.indexOf(layer.slug) !== -1;
      var toggle = panelItem(layer.slug, ".layer-toggle");
      var item = document.querySelector('.layer-item[data-slug="' + CSS.escape(layer.slug) + '"]');
      if (toggle) toggle.checked = layer.visible;
      if (item) item.classList.toggle("is-off", !layer.visible);
    });
  }

  // Locate me: the browser's position (asked only on this button), shown as a circle of its accuracy.
  function addLocateControl(map) {
    var status = L.DomUtil.create("p", "map-status", map.getContainer());
    status.setAttribute("role", "status");
    status.hidden = true;
    var marker = null;
    var Locate = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var bar = L.DomUtil.create("div", "leaflet-bar leaflet-control locate-control");
        var button = L.DomUtil.create("button", "locate-button", bar);
        button.type = "button";
        button.title = strings.locate;
        button.setAttribute("aria-label", strings.locate);
        L.DomEvent.disableClickPropagation(bar);
        L.DomEvent.on(button, "click", function () {
          status.hidden = true;
          map.locate({ setView: true, maxZoom: 17, timeout: 15000 });
        });
        return bar;
      },
    });
    new Locate().addTo(map);
    map.on("locationfound", function (event) {
      if (marker) map.removeLayer(marker);
      marker = L.circle(event.latlng, { radius: Math.max(event.accuracy / 2, 5), color: "#0b4f6c", weight: 2, fillOpacity: 0.15 }).addTo(map);
    });
    map.on("locationerror", function () {
      status.textContent = strings.locate_failed;
      status.hidden = false;
    });
    map.on("movestart", function () { status.hidden = true; });
  }

  // The search box: suggestions as you type (wards, parcels, addresses, names), each a link or a place.
  function wireSearch(map) {
    var form = document.getElementById("map-search");
    if (!form || !apiUrls.search) return;
    var input = form.querySelector("input");
    var list = document.getElementById("map-search-results");
    var timer = null, latest = 0;
    function show(results) {
      list.textContent = "";
      if (!results.length) { list.appendChild(element("li", "empty", strings.no_results)); }
      results.forEach(function (hit) {
        var item = element("li", "hit-" + hit.kind);
        var target = element(hit.url ? "a" : "button", "", hit.label);
        if (hit.url && hit.url.charAt(0) === "/") { target.setAttribute("href", hit.url); }
        else {
          target.type = "button";
          target.addEventListener("click", function () {
            if (hit.bbox) { map.fitBounds([[hit.bbox[1], hit.bbox[0]], [hit.bbox[3], hit.bbox[2]]], { maxZoom: 18 }); }
            list.hidden = true;
          });
        }
        item.appendChild(target);
        if (hit.detail) { item.appendChild(element("span", "detail", " " + hit.detail)); }
        list.appendChild(item);
      });
      list.hidden = false;
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2) { list.hidden = true; return; }
      timer = setTimeout(function () {
        var request = ++latest;
        fetch(apiUrls.search + "?" + new URLSearchParams({ q: q }), { headers: { Accept: "application/json" } })
          .then(function (r) { return r.json(); })
          .then(function (body) { if (request === latest) show(body.results || []); })
          .catch(function () {});
      }, 200);
    });
    input.addEventListener("keydown", function (event) { if (event.key === "Escape") { list.hidden = true; } });
  }

  function init() {
    var map = L.Map.djangoMap("map", {
      djoptions: mapOptions, globals: false, callback: function () {}, zoomControl: false,
    });
    if (!map) return;
    L.control.zoom({ zoomInTitle: strings.zoom_in, zoomOutTitle: strings.zoom_out }).addTo(map);
    addLocateControl(map);
    addBasemaps(map);
    var link = readPermalink();
    applyPermalinkLayers(link);
    if (link && link.asOf) asOf = link.asOf;
    if (link) map.setView(link.center, link.zoom, { animate: false });
    map.on("popupopen", function (event) {
      var close = event.popup.getElement().querySelector(".leaflet-popup-close-button");
      if (close) close.setAttribute("aria-label", strings.close);
    });
    var tileLayers = {};
    mapLayers.forEach(function (layer) {
      tileLayers[layer.slug] = makeTileLayer(map, layer);
      if (layer.visible) tileLayers[layer.slug].addTo(map);
    });
    var updateLink = function () { writePermalink(map, tileLayers); };
    wirePanel(map, tileLayers, updateLink);
    wireAsOf(map, tileLayers, updateLink)(asOf);
    wirePanelToggle();
    map.on("moveend", updateLink);
    if (link) updateLink();
    if (SERVER_CLICK) {
      var layersBySlug = {};
      mapLayers.forEach(function (layer) { layersBySlug[layer.slug] = layer; });
      clickShower = window.gisportalClick.wire(map, {
        url: apiUrls.features_at, strings: strings, layersBySlug: layersBySlug, reportUrl: apiUrls.report_form,
        asOf: function () { return asOf; },
        visibleSlugs: function () {
          return mapLayers.filter(function (layer) {
            return layer.kind === "vector" && map.hasLayer(tileLayers[layer.slug]) && inZoomRange(map, layer);
          }).map(function (layer) { return layer.slug; });
        },
      });
    }
    wireSearch(map);
    window.gisportalMap = map; // for the browser tests and the console
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
