"""Reusable UI pieces: state badges, progress bars, time-ago labels, the lazy release tree and error cards."""
