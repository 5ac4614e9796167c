"""The package layering, checked on the source with `ast` (nothing is imported to check it).

dataintegrity is the pure core; keys, schemas and verifier build on it without knowing about the web
service; only the service's own entry points import `issuer`.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "dataintegrity": {"flask", "sqlalchemy", "marshmallow", "issuer", "keys", "verifier", "schemas"},
    "keys": {"issuer", "verifier", "flask", "sqlalchemy"},
    # The verifier is a library: no web framework, no database, never the issuer's internals.
    "verifier": {"issuer", "keys", "sqlalchemy", "flask"},
    "schemas": {"issuer", "keys", "verifier", "flask", "sqlalchemy"},
}


# The verifier's web edge is the one module of it that may use Flask (STYLE.md: verifier/http.py).
EDGE_ALLOWANCES = {"verifier/http.py": {"flask"}}


def python_files(*under: str) -> list[Path]:
    return sorted(p for part in under for p in (ROOT / part).rglob("*.py") if "__pycache__" not in p.parts)


def imported_roots(path: Path) -> set[str]:
    """The top-level names of every absolute import in `path` (inside functions too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__"
              or isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module"):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                roots.add(node.args[0].value.split(".")[0])
    return roots


def test_the_checker_sees_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import flask.json\nfrom sqlalchemy.orm import Session\nfrom . import sibling\n"
        "def f():\n    import issuer\n    importlib.import_module('keys.signer')\n"
    )
    assert imported_roots(sample) == {"flask", "sqlalchemy", "issuer", "keys"}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_stay_in_their_layer(package):
    files = python_files(package)
    assert files, f"no source found for {package}"
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in sorted(imported_roots(path) & FORBIDDEN[package]
                           - EDGE_ALLOWANCES.get(path.relative_to(ROOT).as_posix(), set()))
    ]
    assert offences == []


def test_only_the_service_imports_issuer():
    # Benchmarks, like tests, measure the service's own code paths.
    allowed = {ROOT / "wsgi.py", *(ROOT / "bench").glob("*.py")}
    candidates = [
        p for p in ROOT.rglob("*.py")
        if p.relative_to(ROOT).parts[0] not in {"issuer", "tests", "build", "dist"}
        and not any(part in {"__pycache__", "site-packages"} or part.endswith(".egg-info") or part.startswith(".")
                    for part in p.relative_to(ROOT).parts[:-1])
    ]
    offences = [str(p.relative_to(ROOT)) for p in sorted(candidates)
                if p not in allowed and "issuer" in imported_roots(p)]
    assert offences == []
    # The entry point really does import it (so the check above looks at real code).
    assert "issuer" in imported_roots(ROOT / "wsgi.py")
