"""What ``healthnet export`` reads: every signed record held, as wire envelopes.

The lines are joined from the stored canonical texts (``log.envelope_text``), never
re-encoded, so an export verifies offline byte for byte against the signatures.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlmodel import Session

from node.db.log import envelope_text
from node.db.tables import RECORDS


def envelopes(session: Session) -> Iterator[str]:
    """Every record of every origin, ordered by origin and seq, one envelope text each.
    Streamed 1000 rows at a time: a node may hold millions."""
    rows = session.execute(
        select(RECORDS.c.header, RECORDS.c.body, RECORDS.c.sig)
        .order_by(RECORDS.c.origin, RECORDS.c.seq)
        .execution_options(yield_per=1000)
    )
    for header, body, sig in rows:
        yield envelope_text(header, body, sig)
