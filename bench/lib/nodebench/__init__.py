"""The phases of bench/node.py (one node end to end), on top of the shared ``benchlib``:
``search`` (one connection, then many), ``writes`` (signed writes over HTTP), ``ratios``
(the raw limits and every figure's ratio to them) and ``profile`` (where import time goes).
"""
