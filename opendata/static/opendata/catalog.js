/* Small extent maps on the catalog pages: one Leaflet map per layer, its bbox as a rectangle.
   Data arrives in a json_script element (the CSP allows no inline script). No outside basemap. */
(function () {
  "use strict";
  var element = document.getElementById("od-extents");
  if (!element || typeof L === "undefined") { return; }
  JSON.parse(element.textContent).forEach(function (entry) {
    var box = document.querySelector('.od-map[data-slug="' + CSS.escape(entry.slug) + '"]');
    if (!box || !entry.bbox) { return; }
    var map = L.map(box, { attributionControl: false, zoomControl: false, scrollWheelZoom: false });
    var bounds = [[entry.bbox[1], entry.bbox[0]], [entry.bbox[3], entry.bbox[2]]];
    L.rectangle(bounds, { color: "#2255aa", weight: 2, fillOpacity: 0.15 }).addTo(map);
    map.fitBounds(bounds, { padding: [10, 10], maxZoom: 16 });
  });
})();
