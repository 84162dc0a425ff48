"""Renderers: each reads the typed plan document (never the planner's raw result) and writes to a
given stream."""
