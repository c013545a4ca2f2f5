"""Content-addressed file tracking for WTB."""
