"""The knowledge space: structured best practices and pitfalls, and the document repository."""
