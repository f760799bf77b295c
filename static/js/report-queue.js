// The moderation queue's map: one dot per report, coloured by status; a dot leads to its entry in the list.
// Labels are set as text (never HTML): they hold nothing a resident typed, but stay safe if that changes.
(function () {
  "use strict";
  var box = document.getElementById("queue-map");
  if (!box || typeof L === "undefined") { return; }
  var points = JSON.parse(document.getElementById("queue-points").textContent);
  var colours = { received: "#b00020", answered: "#1d70b8", resolved: "#00703c", rejected: "#505a5f" };
  var map = L.map(box, { attributionControl: false });
  var wards = JSON.parse(document.getElementById("report-wards").textContent);
  var outlines = L.geoJSON(wards, { style: { color: "#6a3d9a", weight: 1, fillOpacity: 0.05 }, interactive: false }).addTo(map);
  var dots = L.featureGroup().addTo(map);
  points.forEach(function (p) {
    var dot = L.circleMarker([p.lat, p.lon], { radius: 7, color: colours[p.status] || "#333", weight: 2, fillOpacity: 0.7 });
    var label = document.createElement("span");
    label.textContent = p.label;
    dot.bindTooltip(label);
    dot.on("click", function () {
      var item = document.getElementById("r-" + p.code);
      if (item) { item.scrollIntoView({ behavior: "smooth", block: "start" }); item.focus && item.focus(); }
    });
    dots.addLayer(dot);
  });
  if (points.length) { map.fitBounds(dots.getBounds(), { maxZoom: 16, padding: [20, 20] }); } else if (outlines.getLayers().length) { map.fitBounds(outlines.getBounds()); } else { map.setView([10.8, 106.75], 12); }
})();
