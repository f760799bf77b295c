// The layer editor: Leaflet + Leaflet-Geoman (vendored). Features come from /api/layers/<slug>/features,
// saves send the version they started from; a 409 shows what the other person saved. Split: a line drawn
// with Geoman's line tool is sent to .../split, and the parts come back. Data reaches the page only through
// textContent and form values, never as HTML.
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("editor-config").textContent);
  var historyUrl = JSON.parse(document.getElementById("history-url").textContent);
  var S = cfg.strings;
  var english = cfg.language === "en";
  var api = "/api/layers/" + encodeURIComponent(cfg.slug) + "/features";
  var csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  var MIN_EDIT_ZOOM = 15;

  var status = document.getElementById("editor-status");
  var form = document.getElementById("feature-form");
  var fieldsBox = document.getElementById("feature-fields");
  var comment = document.getElementById("edit-comment");
  var geometryError = form.querySelector('[data-field="geometry"]');
  var conflict = document.getElementById("conflict");
  var historyLink = document.getElementById("history-link");
  var splitButton = document.getElementById("split-feature");

  var map = L.map("editor-map", { attributionControl: false, minZoom: 10, maxZoom: 21 });
  if (cfg.extent) { map.fitBounds([[cfg.extent[1], cfg.extent[0]], [cfg.extent[3], cfg.extent[2]]], { maxZoom: 16 }); }
  else { map.setView([10.82, 106.79], 13); }
  L.control.scale({ imperial: false }).addTo(map);
  // Context for finding one's way: the platform's own boundaries and roads as vector tiles, not editable.
  if (L.vectorGrid) {
    cfg.context.forEach(function (ctx) {
      var style = {}; style[ctx.slug] = { weight: 1, color: ctx.color, fill: false };
      L.vectorGrid.protobuf(ctx.url, { vectorTileLayerStyles: style, interactive: false, pmIgnore: true, maxNativeZoom: 18 }).addTo(map);
    });
  }
  if (cfg.area) {
    L.geoJSON(cfg.area, { pmIgnore: true, interactive: false, style: { color: "#0b4f6c", weight: 2, dashArray: "6 4", fill: false } }).addTo(map);
  }

  var baseStyle = { color: "#3388ff", weight: 1.5, fillOpacity: 0.15 };
  var selectedStyle = { color: "#b00020", weight: 3, fillOpacity: 0.3 };
  var features = L.featureGroup().addTo(map);
  var byId = {};
  var selected = null;
  var splitting = null;  // the feature being cut while its cutting line is drawn

  var point = /Point/.test(cfg.geometryType);
  var line = /LineString/.test(cfg.geometryType);
  var area = !point && !line;
  // Geoman ships no Vietnamese: the vendored dictionary (leaflet-geoman-vi.js), English for any key it lacks.
  if (english || !window.gisportalGeomanVi) { map.pm.setLang("en"); }
  else { map.pm.setLang("vi", window.gisportalGeomanVi, "en"); }
  map.pm.addControls({
    position: "topleft", drawMarker: point, drawCircleMarker: false, drawPolyline: line, drawRectangle: false,
    drawPolygon: area, drawCircle: false, drawText: false, cutPolygon: false, rotateMode: false,
    editMode: true, dragMode: true, removalMode: true
  });
  map.pm.setGlobalOptions({ snappable: true, snapDistance: 15, allowSelfIntersection: false, finishOnEnter: true, exitModeOnEscape: true });
  splitButton.hidden = point;

  function say(text) { status.textContent = text; }

  function request(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: body ? JSON.stringify(body) : undefined
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) { return { status: response.status, data: data }; });
    });
  }

  function message(data) { return (english ? data.description : data.description_vi) || data.description || S.failed; }

  function label(spec) { return english ? spec.label_en : spec.label_vi; }

  function addFeature(json) {
    var existing = byId[json.id];
    if (existing) { features.removeLayer(existing); }
    var layer = L.geoJSON(json, { style: baseStyle }).getLayers()[0];
    layer.feature = json;
    layer.on("click", function () { if (!splitting) { select(layer); } });
    layer.on("pm:edit pm:dragend", function () { if (selected !== layer) { select(layer); } });
    layer.on("pm:remove", function () { remove(layer); });
    features.addLayer(layer);
    byId[json.id] = layer;
    return layer;
  }

  function load() {
    if (map.getZoom() < MIN_EDIT_ZOOM) { say(S.zoomIn); return; }
    var b = map.getBounds();
    var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); }).join(",");
    request("GET", api + "?bbox=" + bbox).then(function (r) {
      if (r.status !== 200) { say(message(r.data)); return; }
      r.data.features.forEach(function (f) { if (!(selected && selected.feature && selected.feature.id === f.id)) { addFeature(f); } });
      say(r.data.truncated ? S.truncated : S.loaded.replace("%(count)s", r.data.features.length));
    });
  }

  function input(spec, value) {
    var control;
    if (spec.type === "code" && spec.choices) {
      control = document.createElement("select");
      control.appendChild(document.createElement("option"));
      spec.choices.forEach(function (choice) {
        var option = document.createElement("option");
        option.value = choice; option.textContent = choice;
        control.appendChild(option);
      });
    } else {
      control = document.createElement("input");
      control.type = { integer: "number", number: "number", date: "date" }[spec.type] || "text";
      if (spec.type === "number") { control.step = "any"; }
      if (spec.type === "integer") { control.step = "1"; }
    }
    control.id = "field-" + spec.name;
    control.name = spec.name;
    control.required = !!spec.required;
    control.value = value === undefined || value === null ? "" : String(value);
    return control;
  }

  function buildForm(properties) {
    fieldsBox.textContent = "";
    cfg.schema.forEach(function (spec) {
      var wrap = document.createElement("div");
      wrap.className = "field";
      wrap.dataset.field = spec.name;
      var lab = document.createElement("label");
      lab.htmlFor = "field-" + spec.name;
      lab.textContent = label(spec) + (spec.required ? " *" : "");
      var error = document.createElement("p");
      error.className = "error"; error.hidden = true; error.id = "error-" + spec.name;
      var control = input(spec, properties[spec.name]);
      control.setAttribute("aria-describedby", error.id);
      wrap.appendChild(lab); wrap.appendChild(control); wrap.appendChild(error);
      fieldsBox.appendChild(wrap);
    });
  }

  function formProperties() {
    var out = {};
    cfg.schema.forEach(function (spec) {
      var value = document.getElementById("field-" + spec.name).value.trim();
      if (value === "") { return; }
      out[spec.name] = spec.type === "integer" || spec.type === "number" ? Number(value) : value;
    });
    return out;
  }

  function clearErrors() {
    form.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
    form.querySelectorAll(".error").forEach(function (el) { el.hidden = true; el.textContent = ""; });
  }

  function showProblems(problems) {
    problems.forEach(function (p) {
      var target = p.field === "geometry" ? geometryError : document.getElementById("error-" + p.field);
      if (!target) { target = geometryError; }
      target.textContent = english ? p.message_en : p.message_vi;
      target.hidden = false;
      if (target.parentElement) { target.parentElement.classList.add("has-error"); }
    });
  }

  function select(layer) {
    if (selected && selected !== layer && selected.setStyle) { selected.setStyle(baseStyle); }
    selected = layer;
    if (layer.setStyle) { layer.setStyle(selectedStyle); }
    conflict.hidden = true;
    clearErrors();
    var f = layer.feature || { properties: {} };
    buildForm(f.properties || {});
    comment.value = "";
    form.querySelector(".feature-id").textContent = f.id ? S.featureLabel.replace("%(id)s", f.id).replace("%(version)s", f.version) : S.newFeature;
    historyLink.hidden = !f.id;
    splitButton.disabled = !f.id;
    if (f.id) { historyLink.href = historyUrl.replace(/\/0\/$/, "/" + f.id + "/"); }
    form.hidden = false;
  }

  function save(event) {
    event.preventDefault();
    if (!selected) { return; }
    clearErrors();
    var f = selected.feature || {};
    var body = { geometry: selected.toGeoJSON().geometry, properties: formProperties(), comment: comment.value };
    var call = f.id ? request("PUT", api + "/" + f.id, Object.assign(body, { version: f.version })) : request("POST", api, body);
    call.then(function (r) {
      if (r.status === 200 || r.status === 201) {
        if (!f.id) { features.removeLayer(selected); }
        select(addFeature(r.data));
        say(S.saved.replace("%(version)s", r.data.version));
      } else if (r.status === 409) {
        showConflict(r.data, body.properties);
      } else if (r.data.problems) {
        showProblems(r.data.problems);
        say(message(r.data));
      } else {
        say(message(r.data));
      }
    }).catch(function () { say(S.failed); });
  }

  function showConflict(data, mine) {
    var theirs = data.current.properties || {};
    conflict.querySelector(".conflict-message").textContent = message(data);
    var body = conflict.querySelector("tbody");
    body.textContent = "";
    cfg.schema.forEach(function (spec) {
      var row = document.createElement("tr");
      var a = theirs[spec.name], b = mine[spec.name];
      if (String(a === undefined ? "" : a) !== String(b === undefined ? "" : b)) { row.className = "differs"; }
      [label(spec), a, b].forEach(function (v) {
        var cell = document.createElement("td");
        cell.textContent = v === undefined || v === null ? "—" : String(v);
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
    conflict.hidden = false;
    conflict.scrollIntoView({ block: "nearest" });
    conflict.dataset.current = JSON.stringify(data.current);
    say(message(data));
  }

  function remove(layer) {
    var f = layer.feature;
    if (!f || !f.id) { return; }
    if (!window.confirm(S.confirmDelete)) { addFeature(f); return; }
    request("DELETE", api + "/" + f.id + "?version=" + f.version).then(function (r) {
      if (r.status === 200) { delete byId[f.id]; form.hidden = true; say(S.deleted); }
      else { addFeature(r.data.current || f); say(message(r.data)); }
    });
  }

  function startSplit() {
    if (splitting) { map.pm.disableDraw("Line"); return; }
    if (!selected || !selected.feature || !selected.feature.id) { return; }
    splitting = selected;
    splitButton.setAttribute("aria-pressed", "true");
    map.pm.enableDraw("Line", { continueDrawing: false, finishOn: null });
    say(S.splitHint);
  }

  function partLabel(part) {
    var number = part.properties && part.properties.parcel_no;
    var text = number === undefined ? S.splitPart : S.splitParcel.replace("%(number)s", number);
    return text.replace("%(id)s", part.id);
  }

  function split(layer, line) {
    var f = layer.feature;
    request("POST", api + "/" + f.id + "/split", { line: line, version: f.version, comment: comment.value }).then(function (r) {
      if (r.status === 200) {
        var parts = r.data.features;
        parts.forEach(addFeature);
        select(byId[parts[0].id]);
        say(S.splitDone.replace("%(count)s", parts.length).replace("%(parts)s", parts.map(partLabel).join(", ")));
      } else if (r.status === 409) {
        select(addFeature(r.data.current));
        say(message(r.data));
      } else {
        if (r.data.problems) { showProblems(r.data.problems); }
        say(message(r.data));
      }
    }).catch(function () { say(S.failed); });
  }

  map.on("pm:drawend", function () {
    if (splitting) { splitting = null; say(S.splitCancelled); }
    splitButton.setAttribute("aria-pressed", "false");
  });
  map.on("pm:create", function (e) {
    if (splitting) {  // the cutting line, not a new feature
      var target = splitting;
      splitting = null;
      map.removeLayer(e.layer);
      split(target, e.layer.toGeoJSON().geometry);
      return;
    }
    e.layer.feature = { type: "Feature", properties: {} };
    e.layer.on("click", function () { select(e.layer); });
    select(e.layer);
    say(S.newFeature);
  });
  document.getElementById("take-theirs").addEventListener("click", function () {
    var current = JSON.parse(conflict.dataset.current);
    if (selected) { features.removeLayer(selected); }
    select(addFeature(current));
  });
  splitButton.addEventListener("click", startSplit);
  document.getElementById("cancel-edit").addEventListener("click", function () {
    if (splitting) { map.pm.disableDraw("Line"); }
    form.hidden = true;
    if (selected && selected.feature && selected.feature.id) { addFeature(selected.feature); }
    selected = null;
  });
  form.addEventListener("submit", save);
  map.on("moveend", load);
  var focus = new URLSearchParams(window.location.search).get("feature");
  if (focus && /^[0-9]+$/.test(focus)) {
    request("GET", api + "/" + focus).then(function (r) {
      if (r.status === 200) { var layer = addFeature(r.data); map.fitBounds(layer.getBounds(), { maxZoom: 19 }); select(layer); }
      else { say(message(r.data)); }
    });
  } else {
    load();
  }
})();
