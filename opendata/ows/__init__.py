"""WMS 1.3.0 and WFS 2.0 at /ows through MapServer: catalog, mapfile, request parser, runner, door."""
