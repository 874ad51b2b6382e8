"""Full-text search over topics, posts, knowledge entries, documents and the directory."""
