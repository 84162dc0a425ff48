"""The pure rule engine, rule catalogue and domain matcher.

Shared by the reference server, lint and offline policy tests; imports nothing else of certgov.
"""
