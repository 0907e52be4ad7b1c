"""cxrviewer: an offline chest X-ray case viewer and similar-case search for teaching."""

__version__ = "0.1.0"
