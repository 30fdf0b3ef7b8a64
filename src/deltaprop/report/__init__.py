"""Self-contained HTML reports of run directories (issue 12): being built."""
