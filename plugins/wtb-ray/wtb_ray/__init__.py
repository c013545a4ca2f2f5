"""Ray for WTB."""
