"""The phases of bench/sync.py (federation sync between real nodes), on top of ``benchlib``:
``fullsync`` (phases 0-2), ``incremental`` (3), ``propagation`` (4), ``profile``,
``stages`` and ``hotspots`` (5); ``homes`` holds the node homes they share, ``europe`` the
generated source data and ``targets`` the goals each figure is judged by.
"""
