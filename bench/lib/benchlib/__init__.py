"""The bench library: what bench/node.py, bench/sync.py and bench/feeds.py share.

Each piece exists once, so the three benches measure limits, time requests and manage
processes the same way, and a fix to one (a bounded wait, a percentile) reaches all three.

- ``app``: the only module that imports the application (node, federation, schemas) to
  drive it; repoint those imports there when the application moves things.
- ``ports``, ``processes``, ``servers``: free 127.0.0.1 ports, ``healthnet`` commands, and
  ``healthnet serve`` processes stopped by their PID with bounded waits.
- ``timing``, ``limits``, ``machine``: rates, percentiles and medians; the machine's own
  limits (raw Ed25519 sign/verify) measured in the same run; CPU time and load from /proc.
- ``connection``, ``loadgen``: a raw keep-alive HTTP/1.1 client and the 32-connection load
  generators (wrk, or the built-in asyncio one).
- ``cities``, ``members``, ``events``, ``dataset``, ``imports``: the generated
  North-American data set and its timed import through the ``healthnet import`` code path.
- ``output``, ``provenance``, ``patching``: printing, which code ran, and the temporary
  wrapping of application functions that the profilers use.

This directory's parent, bench/lib, is put first on ``sys.path`` by each script (instead of
bench/ itself, whose node.py would shadow the application's ``node`` package).
"""
