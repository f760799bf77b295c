// The report form's point picker: the city's wards drawn from the page's own data, a tap sets lon/lat.
// Without JavaScript the two fields are typed by hand; the form works the same.
(function () {
  "use strict";
  var box = document.getElementById("report-map");
  var lon = document.getElementById("report-lon");
  var lat = document.getElementById("report-lat");
  if (!box || !lon || !lat || typeof L === "undefined") { return; }
  box.hidden = false;
  var wards = JSON.parse(document.getElementById("report-wards").textContent);
  var map = L.map(box, { attributionControl: false });
  var outlines = L.geoJSON(wards, { style: { color: "#6a3d9a", weight: 1, fillOpacity: 0.05 } }).addTo(map);
  var marker = null;
  function place(latlng) {
    if (marker) { marker.setLatLng(latlng); } else {
      marker = L.circleMarker(latlng, { radius: 8, color: "#b00020", weight: 3, fillOpacity: 0.6 }).addTo(map);
    }
  }
  var start = [parseFloat(lat.value), parseFloat(lon.value)];
  if (isFinite(start[0]) && isFinite(start[1])) {
    place(start);
    map.setView(start, 16);
  } else if (outlines.getLayers().length) {
    map.fitBounds(outlines.getBounds());
  } else {
    map.setView([10.8, 106.75], 12);
  }
  map.on("click", function (e) {
    place(e.latlng);
    lon.value = e.latlng.lng.toFixed(6);
    lat.value = e.latlng.lat.toFixed(6);
  });
  function typed() {
    var ll = [parseFloat(lat.value), parseFloat(lon.value)];
    if (isFinite(ll[0]) && isFinite(ll[1])) { place(ll); map.panTo(ll); }
  }
  lon.addEventListener("change", typed);
  lat.addEventListener("change", typed);
  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
})();
