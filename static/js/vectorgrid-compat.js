/* Leaflet.VectorGrid 1.3.0 calls L.DomEvent.fakeStop on canvas clicks; Leaflet 1.8 removed it, and
   the click then throws before reaching the feature. Leaflet >= 1.8 needs no stop there (its canvas
   renderer hands the click to the feature itself), so the missing function becomes a no-op. */
(function () {
  "use strict";
  if (window.L && L.DomEvent && typeof L.DomEvent.fakeStop !== "function") {
    L.DomEvent.fakeStop = function () { return L.DomEvent; };
  }
})();
