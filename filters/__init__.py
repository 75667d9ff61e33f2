"""camfx's built-in filter plugins, one small module each.

Installed as the package ``camfx_filters`` and registered in the ``camfx.filters`` entry-point
group exactly like third-party plugins.
"""
