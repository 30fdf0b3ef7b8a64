"""One example traced through BP1-BP4 with numbers (issue 12): being built."""
