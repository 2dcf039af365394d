"""Skin logs: a daily self-rating of the skin that needs no photo."""
