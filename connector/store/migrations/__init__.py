"""Alembic migrations of the leadpool store (run through connector.store.engine.migrate)."""
