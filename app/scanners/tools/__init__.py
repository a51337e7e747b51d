"""The tools Vigil runs itself, one module each; :mod:`app.scanners.registry` lists them."""
