"""ABTPro ML pipeline: settings and the ``abtpro`` command line."""

__version__ = "0.1.0"
