"""The book's experiments, chapter 5's vanishing gradient first (issue 12): being built."""
