"""``python -m camfx``: the same as the ``camfx`` command."""
import sys

from camfx.app.cli import main

sys.exit(main())
