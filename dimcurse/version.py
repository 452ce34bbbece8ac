"""The package version: a leaf module, so that what records it imports nothing above it."""

__version__ = "0.1.0"
