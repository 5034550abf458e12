"""Async triggers for deferrable sensors and delays (see DESIGN.md §2)."""
