"""HTTP routes: thin functions that parse, call the services and shape answers."""
