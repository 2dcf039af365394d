"""Operator tools behind `python -m app.cli`: doctor, demo data, support requests."""
