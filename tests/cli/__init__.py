"""Tests of the command line, one module per command (a package, so that their names, e.g.
test_bench, do not clash with the other tests')."""
