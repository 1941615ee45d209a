"""Helpers the tests import (fixtures stay in ``tests/conftest.py``).

* ``clock``: a settable clock;
* ``factories``: valid member and event bodies, and writing them through the admin API;
* ``nodes``: one in-process node with admin and editor tokens;
* ``databases``: the PostgreSQL test server and one fresh database per test or node;
* ``fedkit``: in-process federations (several node apps over one ASGI transport);
* ``relay``: a malicious relay inside an in-process federation;
* ``problems``: the one check of an RFC 9457 problem answer;
* ``envelopes``: the one builder of signed envelopes, and vector cases as envelopes;
* ``cli``: the ``healthnet`` CLI run in-process;
* ``procs``, ``multiprocess``: real node processes and a federation of them;
* ``demo``: a running ``healthnet demo``;
* ``fhir``: FHIR requests and independent validation;
* ``evil_peer``: a malicious peer run as its own process (``uvicorn support.evil_peer:app``
  with ``--app-dir tests``).
"""

from __future__ import annotations

import os

IN_CI = bool(os.environ.get("CI"))
