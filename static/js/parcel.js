// The parcel page's map: the parcel outlined over its neighbours, drawn from the page's own data.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("parcel-data").textContent);
  var map = L.map("parcel-map", { zoomControl: true, attributionControl: false });
  var neighbours = L.geoJSON(data.neighbours, {
    style: { color: "#5a6670", weight: 1, fillColor: "#d5dce1", fillOpacity: 0.4 }
  }).addTo(map);
  var parcel = L.geoJSON(data.parcel, {
    style: { color: "#b00020", weight: 3, fillColor: "#ffbf47", fillOpacity: 0.5 }
  }).addTo(map);
  map.fitBounds(parcel.getBounds(), { maxZoom: 19, padding: [30, 30] });
  L.control.scale({ imperial: false }).addTo(map);
  var button = document.getElementById("print-button");
  if (button) { button.addEventListener("click", function () { window.print(); }); }
})();
