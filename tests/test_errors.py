"""The one exception tree and its one translator (node.problems).

Static checks over the source: every ``raise`` in ``node/`` and ``federation/`` names a
class of the tree that has a status (or is documented internal), every leaf has a status
other than 500 unless it is internal, and the tree federation.errors draws is the
tree the code defines. Then the dialects, over HTTP: a path no route takes is an HTML page
for a browser, a problem for an API client, an OperationOutcome under /fhir.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from starlette.exceptions import HTTPException as StarletteHTTPException
from support.nodes import Node

from federation import errors as federation_errors
from federation.errors import HealthnetError
from node import dialects, problems
from node import errors as node_errors
from node.demo_terminal import Stopped
from node.web import pages

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("federation", "node")
PROBLEM = "application/problem+json"
FHIR_JSON = "application/fhir+json"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

# Raised on purpose although outside the tree, with the reason.
ALLOWED: dict[type[BaseException], tuple[str, str]] = {
    # Typer's (click's) way to end a command with an exit code: not an error.
    typer.Exit: ("node/cli", "the CLI ends commands with exit codes"),
    # Raised from BodyLimit's receive: FastAPI turns any other exception raised while it
    # reads a body into a 400 ("There was an error parsing the body"), not this one.
    StarletteHTTPException: ("node/limits.py", "a streamed body over the limit"),
    # A stop signal (SIGTERM, SIGHUP) unwinds `healthnet demo` as Ctrl-C's
    # KeyboardInterrupt does, so its clean-up runs: control flow, not an error.
    Stopped: ("node/demo_terminal.py", "a stop signal unwinds the demo"),
}

# Raises in files another change owns (node/sync.py, node/roster.py, node/db/) that are
# still to become leaves: (path, class raised) -> the leaf it becomes. Delete an entry
# when its raise has been changed (the test below says so).
PENDING: dict[tuple[str, str], str] = {}


def _sources() -> Iterator[tuple[str, str]]:
    """(path relative to the repository, module name) of every module of the packages.
    Alembic's migrations are left out: importing ``env.py`` runs them."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if "/migrations/" in rel:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield rel, ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: Any, expr: ast.expr) -> Any:
    """The object a dotted name stands for in a module's namespace."""
    if isinstance(expr, ast.Name):
        return module.__dict__[expr.id] if expr.id in module.__dict__ else vars(builtins)[expr.id]
    if isinstance(expr, ast.Attribute):
        return getattr(_resolve(module, expr.value), expr.attr)
    raise LookupError(ast.unparse(expr))


def _raised(module: Any, expr: ast.expr, scope: ast.AST) -> type[BaseException]:
    """The class a ``raise`` expression raises: a class called, a function whose return
    annotation is the class (``bad(...)``, ``_fail(...)``), or a local variable assigned
    one of those in the enclosing function."""
    if isinstance(expr, ast.Call):
        target = _resolve(module, expr.func)
        if inspect.isclass(target):
            return typing.cast(type[BaseException], target)
        returned = typing.get_type_hints(target)["return"]
        assert inspect.isclass(returned), ast.unparse(expr)
        return typing.cast(type[BaseException], returned)
    if isinstance(expr, ast.Name):
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == expr.id for t in node.targets
            ):
                return _raised(module, node.value, scope)
    raise LookupError(f"cannot tell what `raise {ast.unparse(expr)}` raises")


def _raises() -> Iterator[tuple[str, int, type[BaseException] | str]]:
    """(path, line, class raised) for every ``raise X`` (a bare ``raise`` re-raises)."""
    for rel, name in _sources():
        tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
        module = importlib.import_module(name)
        parents: dict[ast.AST, ast.AST] = {}
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                parents[child] = parent
        for node in ast.walk(tree):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            scope: ast.AST = node
            while scope in parents and not isinstance(
                scope, ast.FunctionDef | ast.AsyncFunctionDef
            ):
                scope = parents[scope]
            try:
                yield rel, node.lineno, _raised(module, node.exc, scope)
            except (LookupError, KeyError) as exc:
                yield rel, node.lineno, f"unresolved: {exc}"


def _tree() -> list[type[HealthnetError]]:
    """Every class of the tree the packages define, the root included."""
    for _, name in _sources():
        importlib.import_module(name)
    found: list[type[HealthnetError]] = []
    todo: list[type[HealthnetError]] = [HealthnetError]
    while todo:
        cls = todo.pop()
        if cls.__module__.split(".")[0] in PACKAGES and cls not in found:
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def _ok(cls: type[HealthnetError]) -> bool:
    status, _ = problems.status_of(cls)
    return status != 500 or issubclass(cls, problems.INTERNAL)


def test_every_raise_names_a_class_of_the_tree() -> None:
    wrong, pending_seen = [], set()
    for rel, line, raised in _raises():
        if isinstance(raised, str):
            wrong.append(f"{rel}:{line}: {raised}")
            continue
        if issubclass(raised, HealthnetError) and _ok(raised):
            continue
        allowed = ALLOWED.get(raised)
        if allowed is not None and rel.startswith(allowed[0]):
            continue
        if (rel, raised.__name__) in PENDING:
            pending_seen.add((rel, raised.__name__))
            continue
        wrong.append(f"{rel}:{line}: raises {raised.__name__}")
    assert not wrong, "raise a leaf of federation.errors' tree instead:\n" + "\n".join(wrong)
    applied = set(PENDING) - pending_seen
    assert not applied, f"applied, delete from PENDING: {sorted(applied)}"


def test_every_leaf_has_a_status_other_than_500_unless_internal() -> None:
    for cls in _tree():
        if cls.__subclasses__():
            continue  # a family: its leaves are checked (and raising it is checked above)
        status, slug = problems.status_of(cls)
        if issubclass(cls, problems.INTERNAL):
            assert status == 500, cls
        else:
            assert status != 500 and slug != "internal", f"{cls.__qualname__} has no status"
    assert problems.status_of(HealthnetError)[0] == 500  # the root itself is never raised


def _drawing(doc: str | None) -> list[tuple[int, str]]:
    """(depth, class name) of each line of the tree a docstring draws."""
    assert doc is not None
    block = doc.split("::\n", 1)[1]
    lines = [line for line in block.splitlines() if line.strip()]
    root_column = len(lines[0]) - len(lines[0].lstrip())
    drawn = [(0, lines[0].split()[0])]
    for line in lines[1:]:
        match = re.match(r"^([ │]*)[├└]── (\w+)", line)
        if match is None:
            break  # the drawing ended
        drawn.append(((len(match.group(1)) - root_column) // 4 + 1, match.group(2)))
    return drawn


def test_the_docstring_draws_the_whole_tree_as_the_code_defines_it() -> None:
    drawn = _drawing(federation_errors.__doc__)
    assert "federation.errors" in str(node_errors.__doc__), "node.errors points to the drawing"
    classes = {c.__name__: c for c in _tree() if not c.__name__.startswith("_")}
    assert sorted(name for _, name in drawn) == sorted(classes), "drawn ≠ defined"
    parents: list[str] = []
    for depth, name in drawn:
        del parents[depth:]
        if parents:
            base = next(b for b in classes[name].__bases__ if issubclass(b, HealthnetError))
            assert base.__name__ == parents[-1], f"{name} is drawn under {parents[-1]}"
        parents.append(name)


def test_no_error_of_the_tree_carries_an_http_status() -> None:
    for cls in _tree():
        fields = set(inspect.signature(cls.__init__).parameters) | set(vars(cls))
        assert not fields & {"status", "status_code", "http_status"}, cls


# --------------------------------------------------------------------------- dialects


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (BROWSER, True),
        ("text/html", True),
        ("text/*, application/json;q=0.5", True),
        ("*/*", False),
        ("", False),
        ("application/json", False),
        ("application/json, text/html", False),  # a tie goes to the problem
        ("text/html;q=0.5, application/problem+json", False),
        ("text/html;q=0", False),
        ("text/html;q=bogus, */*", False),
    ],
)
def test_accept_negotiation(accept: str, html: bool) -> None:
    assert dialects.prefers_html(accept) is html


def test_an_unknown_path_is_an_html_page_for_a_browser(sqlite_node: Node) -> None:
    r = sqlite_node.client.get("/no/such/page", headers={"Accept": BROWSER})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["vary"] == "Accept"
    assert "Page not found" in r.text and "there is no page at /no/such/page" in r.text
    assert '<nav aria-label="Main">' in r.text  # the site's frame, links back included
    missing = sqlite_node.client.get("/static/nope.css", headers={"Accept": BROWSER})
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", PROBLEM])
def test_an_unknown_path_is_a_problem_for_an_api_client(
    sqlite_node: Node, accept: str | None
) -> None:
    headers = {"Accept": accept} if accept else {}
    r = sqlite_node.client.get("/no/such/thing", headers=headers)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.headers["vary"] == "Accept"
    assert r.json() == {
        "type": "urn:healthnet:problem:not-found",
        "title": "Not found",
        "status": 404,
        "detail": "Not Found",
        "instance": "/no/such/thing",
    }


@pytest.mark.parametrize("accept", [BROWSER, "application/json", None])
def test_an_unknown_fhir_path_is_an_operation_outcome(
    sqlite_node: Node, accept: str | None
) -> None:
    headers = {"Accept": accept} if accept else {}
    r = sqlite_node.client.get("/fhir/Patient/1/$everything", headers=headers)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith(FHIR_JSON)
    (issue,) = r.json()["issue"]
    assert r.json()["resourceType"] == "OperationOutcome"
    assert issue["code"] == "not-supported" and issue["severity"] == "error"


def test_a_method_a_page_does_not_take_stays_a_problem(sqlite_node: Node) -> None:
    r = sqlite_node.client.post("/e", headers={"Accept": BROWSER})
    assert r.status_code == 405 and r.headers["content-type"].startswith(PROBLEM)


def test_an_unexpected_error_on_a_page_is_an_html_500_without_details(
    sqlite_node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret: password=hunter2")

    monkeypatch.setattr(pages, "search", broken)
    r = sqlite_node.client.get("/")
    assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
    assert "Internal server error" in r.text and "the node hit an unexpected error" in r.text
    assert "hunter2" not in r.text and "RuntimeError" not in r.text


def test_an_internal_error_of_the_tree_is_a_500_without_its_message(
    sqlite_node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    from node.api import members
    from node.errors import MissingSequence

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise MissingSequence("origin x has no sequence row; call ensure_origin first")

    monkeypatch.setattr(members, "search", broken)
    r = sqlite_node.client.get("/members")
    assert r.status_code == 500 and r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["detail"] == "the node hit an unexpected error"
    assert "ensure_origin" not in r.text
