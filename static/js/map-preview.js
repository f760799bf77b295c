// The platform's MapLibre style drawn by the vendored MapLibre GL JS (ES module build: its worker is
// loaded from the same origin, which the site's CSP allows). The map is window.gisportalMap for tests.
import * as maplibregl from "../vendor/maplibre-gl-6.20.0/maplibre-gl.mjs";

const element = document.getElementById("map");
const center = element.dataset.center.split(",").map(Number);
const map = new maplibregl.Map({
  container: element,
  style: element.dataset.style,
  center: [center[0], center[1]],
  zoom: Number(element.dataset.zoom),
  canvasContextAttributes: { preserveDrawingBuffer: true }, // so a test can read the pixels back
});
map.addControl(new maplibregl.NavigationControl());
window.gisportalMap = map;
