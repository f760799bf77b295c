/* The features of one OGC API items page on a small map (data from a json_script element; no popups,
   so no attribute text ever reaches HTML). */
(function () {
  "use strict";
  var element = document.getElementById("od-items");
  var box = document.getElementById("od-items-map");
  if (!element || !box || typeof L === "undefined") { return; }
  var data = JSON.parse(element.textContent);
  var map = L.map(box, { attributionControl: false, scrollWheelZoom: false });
  var layer = L.geoJSON(data, { style: { color: "#2255aa", weight: 1, fillOpacity: 0.3 } }).addTo(map);
  var bounds = layer.getBounds();
  if (bounds.isValid()) { map.fitBounds(bounds, { padding: [10, 10], maxZoom: 18 }); } else { map.setView([10.82, 106.79], 12); }
})();
