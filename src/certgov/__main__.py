"""`python -m certgov` runs the command line."""

from certgov.cli import main

main()
