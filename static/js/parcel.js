// The parcel page's map: the parcel outlined over its neighbours, drawn from the page's own data. Before
// printing, the map is fitted again to its printed size (else Leaflet draws only the part it had on screen).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("parcel-data").textContent);
  // The renderer draws a whole map-width around the view, so a print that is wider than the screen has it drawn.
  var map = L.map("parcel-map", { zoomControl: true, attributionControl: false, zoomSnap: 0.25, renderer: L.svg({ padding: 1 }) });
  L.geoJSON(data.neighbours, {
    style: { color: "#5a6670", weight: 1, fillColor: "#d5dce1", fillOpacity: 0.4 }
  }).addTo(map);
  var parcel = L.geoJSON(data.parcel, {
    style: { color: "#b00020", weight: 3, fillColor: "#ffbf47", fillOpacity: 0.5, className: "parcel-outline" }
  }).addTo(map);

  function fit() {
    map.invalidateSize({ animate: false, pan: false });
    map.fitBounds(parcel.getBounds(), { maxZoom: 19, padding: [30, 30], animate: false });
  }
  fit();
  L.control.scale({ imperial: false }).addTo(map);

  window.addEventListener("beforeprint", fit);
  window.addEventListener("afterprint", fit);
  var print = window.matchMedia("print");
  if (print.addEventListener) print.addEventListener("change", fit);
  window.gisportalParcelMap = map; // for the browser tests and the console

  var button = document.getElementById("print-button");
  if (button) { button.addEventListener("click", function () { window.print(); }); }
})();
