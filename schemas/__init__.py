"""Data models and the wire format.

Nothing here touches storage, the network or the clock: these models describe what
travels between nodes and what the API accepts, and they are imported by both
``federation`` and ``node`` (never the other way round).
"""
