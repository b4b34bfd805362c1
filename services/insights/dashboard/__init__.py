"""The dashboard officers use: HTML pages and their static files, served by the insights service.

The pages hold no figures: their script asks for a bearer token, calls the insights HTTP API
with it and draws the figures and charts (SVG) from the JSON (see router.py)."""
