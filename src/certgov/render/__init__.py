"""Renderers: each reads the plan document (never the model) and writes to a given stream."""
