"""A read-only FHIR R4 view of the directory, in the style of IHE mCSD (docs/FHIR.md).

Layers, one way: ``errors`` (the refusals, which ``node.problems`` answers as
OperationOutcomes), ``dates`` (date values → tests on instants), ``params`` (query
strings → checked values) and ``resources`` (stored bodies → FHIR dicts) are pure;
``provenance`` re-checks signatures without I/O; ``bundles`` assembles pages and cursors;
``queries`` is the only module that reads the database; ``node.api.fhir`` is the thin
HTTP shell. The node code never imports ``fhir.resources``: that package is the
independent validator of the tests.
"""
