"""Expected errors: the CLI prints these as one line and exits non-zero.

They subclass ValueError so that library callers can catch bad input the usual way.
"""


class CamfxError(ValueError):
    """Bad input from a user: a spec, a setting, a file, a source."""


class ConfigError(CamfxError):
    """A setting in a config file is unknown or has the wrong type."""


class PluginError(CamfxError):
    """A filter plugin failed to import, to construct or to filter a frame; the message names
    the filter and where it came from."""
