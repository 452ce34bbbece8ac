"""dimcurse: measure why neural networks escape the curse of dimensionality.

The library does the work (``dimcurse.experiments.<kernel>.run``); ``dimcurse.cli``
only parses, calls and renders.
"""

__version__ = "0.1.0"

from dimcurse import allocator as _allocator

# Before torch allocates: every kernel's temporaries stay mapped between steps (allocator.py).
_allocator.tune()
