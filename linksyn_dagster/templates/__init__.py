"""Versioned templates of the release's training exports (see publish/exports.py)."""
