"""Helpers the tests import (fixtures stay in ``tests/conftest.py``).

* ``clock``: a settable clock;
* ``factories``: valid member and event bodies, and writing them through the admin API;
* ``nodes``: one in-process node with admin and editor tokens;
* ``databases``: the PostgreSQL test server and one fresh database per test or node;
* ``fedkit``: in-process federations (several node apps over one ASGI transport);
* ``problems``: the one check of an RFC 9457 problem answer;
* ``envelopes``: the one builder of signed envelopes, and vector cases as envelopes;
* ``cli``: the ``healthnet`` CLI run in-process;
* ``procs``, ``proc_federation``: real node processes, and a federation of them;
* ``demo``: a running ``healthnet demo``;
* ``fhir``: FHIR requests and independent validation;
* ``imports``: node homes for import tests and what their API then serves;
* ``member_directory``, ``calendars``, ``admin_writes``: members' searches, calendar feeds
  and admin writes, shared by the files each of those areas is split into;
* ``trust_network``, ``origin_log``, ``rosters``: fixed keys, rosters and chains for the
  trust and merge tests;
* ``paths``: the repository's directories;
* ``faults``, ``federation_world``: the in-process worlds of the federation tests;
* ``safety_nodes``, ``schema_payloads``, ``json_schema_docs``, ``signing_fixtures``: what
  the split safety, schema and signing files share;
* ``evil_peer``: a malicious peer run as its own process (``uvicorn support.evil_peer:app``
  with ``--app-dir tests``).
"""

from __future__ import annotations

import os

IN_CI = bool(os.environ.get("CI"))
