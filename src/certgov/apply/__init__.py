"""Apply: execute a reviewed plan, store the secrets it creates."""
