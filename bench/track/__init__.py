"""One tracker over one sequence as a content-keyed unit of work."""
