// A feature's shapes over time: older versions faint and dashed, the latest bold; tooltips as text.
(function () {
  "use strict";
  var shapes = JSON.parse(document.getElementById("history-shapes").textContent);
  var map = L.map("history-map", { attributionControl: false });
  var group = L.featureGroup().addTo(map);
  shapes.forEach(function (shape, i) {
    var last = i === shapes.length - 1;
    var layer = L.geoJSON(shape.geometry, {
      style: { color: shape.op === "delete" ? "#b00020" : (last ? "#0b4f6c" : "#7a8a96"), weight: last ? 3 : 1.5,
               dashArray: last ? null : "4 4", fillOpacity: last ? 0.25 : 0.05 }
    });
    layer.bindTooltip(document.createTextNode("v" + shape.version + " " + shape.op));
    group.addLayer(layer);
  });
  if (group.getLayers().length) { map.fitBounds(group.getBounds(), { maxZoom: 19, padding: [20, 20] }); }
  L.control.scale({ imperial: false }).addTo(map);
})();
