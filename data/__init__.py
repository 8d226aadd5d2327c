"""Instance format, schemas, validation, loaders and the seeded generator."""
