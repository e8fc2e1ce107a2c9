"""Every third-party module the package imports comes from a distribution it declares.

Pure: reads ``pyproject.toml`` and the source (no install). Each ``import x`` / ``from x
import ...`` (absolute) in ``linksyn_dagster/`` is mapped to its distributions with the
installed ``importlib.metadata.packages_distributions()``; one of them must be a dependency
in ``[project].dependencies``. A module that only arrives with another dependency (tiktoken
with litellm) does not count: that dependency may drop it. ``test_wheel.py`` checks that the
built wheel's ``Requires-Dist`` is this same list and that the list is satisfied.
"""

from __future__ import annotations

import ast
import importlib.metadata
import sys
import tomllib
from functools import cache

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from linksyn_dagster.services import llm_server
from linksyn_dagster_tests.conftest import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "linksyn_dagster"

# module -> (the extra that provides it, the one file allowed to import it, why it may be missing)
EXTRA_ONLY = {
    "dagster_k8s": ("deploy", "definitions.py",
                    "the k8s executor, chosen only in the deployment image (deploy/), which installs [deploy]"),
}


def project() -> dict:
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def declared() -> dict[str, Requirement]:
    reqs = [Requirement(r) for r in project()["dependencies"]]
    return {canonicalize_name(r.name): r for r in reqs}


@cache
def third_party_imports() -> dict[str, list[tuple[str, bool]]]:
    """Top-level module -> (file relative to the package, imported when the file is imported)."""
    found: dict[str, list[tuple[str, bool]]] = {}

    def visit(node: ast.AST, file: str, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                names = [child.module]
            else:
                nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                visit(child, file, nested)
                continue
            for name in names:
                top = name.partition(".")[0]
                if top not in sys.stdlib_module_names and top != "linksyn_dagster":
                    found.setdefault(top, []).append((file, not in_function))

    for path in sorted(PACKAGE.rglob("*.py")):
        visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), str(path.relative_to(PACKAGE)), False)
    return found


@cache
def _installed() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def distributions_of(module: str) -> set[str]:
    return {canonicalize_name(d) for d in _installed().get(module, [])}


def test_the_walk_finds_the_imports_it_must_check():
    imports = third_party_imports()
    assert {"dagster", "duckdb", "polars", "neo4j", "aiohttp", "tiktoken", "yaml", "dagster_k8s"} <= set(imports)
    assert ("testing/scripted_llm.py", True) in imports["aiohttp"]  # the scripted server ships in the package
    assert ("core/tokens.py", False) in imports["tiktoken"]  # inside a function: found all the same
    assert distributions_of("yaml") == {"pyyaml"}  # a module whose distribution has another name


def test_every_third_party_import_is_a_declared_dependency():
    deps = declared()
    undeclared = {}
    for module, places in third_party_imports().items():
        if module in EXTRA_ONLY:
            continue
        dists = distributions_of(module)
        if not dists & set(deps):
            undeclared[module] = (sorted(dists) or "not installed", sorted({f for f, _ in places}))
    assert undeclared == {}, f"imported but not in [project].dependencies: {undeclared}"


def test_extra_only_imports_are_in_their_extra_and_imported_only_when_needed():
    imports = third_party_imports()
    extras = project()["optional-dependencies"]
    for module, (extra, file, _why) in EXTRA_ONLY.items():
        in_extra = {canonicalize_name(Requirement(r).name) for r in extras[extra]}
        assert distributions_of(module) & in_extra, (module, extra)
        assert not distributions_of(module) & set(declared()), f"{module} is a dependency: drop the exception"
        # imported in one place, inside a function: importing the package never needs the extra
        assert imports[module] == [(file, False)], (module, imports[module])


def test_modules_the_local_model_runs_by_name_are_declared():
    """``python -m llama_cpp.server`` and the model package are found by name, not imported:
    they must come from a dependency or from an extra the dependencies ask for
    (``llama-cpp-python[server]``)."""
    deps = declared()
    via_extras = set()
    for name, req in deps.items():
        for spec in importlib.metadata.requires(name) or []:
            extra_req = Requirement(spec)
            if any(extra_req.marker and extra_req.marker.evaluate({"extra": e}) for e in req.extras):
                via_extras.add(canonicalize_name(extra_req.name))
    by_name = {"llama_cpp", llm_server.MODEL_PACKAGE, *llm_server._SERVER_MODULES}
    missing = {m: sorted(distributions_of(m)) for m in by_name if not distributions_of(m) & (set(deps) | via_extras)}
    assert missing == {}
    assert {"uvicorn", "fastapi"} <= via_extras  # what [server] brings, read from llama-cpp-python's metadata
