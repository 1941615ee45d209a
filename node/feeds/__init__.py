"""Machine-readable feeds of directory data in other standards' formats (iCalendar, ...).

Pure builders: they take already-loaded records and the day, do no I/O, and return bytes;
the routers in ``node/api`` load the data and handle HTTP caching.
"""
