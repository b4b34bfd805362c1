"""Dependency hygiene: shipped code imports only what a production install has; no phantom extras.

The production image installs the runtime dependencies alone (``uv sync --no-dev``), so a
module of ``contracts``, ``ikmkit``, ``services`` or ``ikm_cli`` that imports a dev-only
package (even lazily, inside a function) fails there and nowhere else. Every import in
those packages is parsed (``ast``) and resolved, without importing it, to the installed
distribution whose files hold it; that distribution must be a runtime dependency named in
``pyproject.toml``. ``ikmdev`` is the development stack (embedded broker, testcontainers,
SMTP sink): it may import dev dependencies, but only lazily, so ``ikm`` without ``dev``
still imports it in a production install.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
FIRST_PARTY = {"contracts", "ikmkit", "ikmdev", "services", "ikm_cli", "tests", "bench"}
SHIPPED = ["contracts", "ikmkit", "services", "ikm_cli"]
DEV_STACK = {"ikmdev", "ikm_cli/devextras.py"}
"""The development stack: it may import dev dependencies (lazily, see the module doc)."""


def _requirements(specs: list[str]) -> list[Requirement]:
    return [Requirement(spec) for spec in specs]


RUNTIME = _requirements(PYPROJECT["project"]["dependencies"])
DEV = _requirements(PYPROJECT["dependency-groups"]["dev"])
RUNTIME_NAMES = {canonicalize_name(r.name) for r in RUNTIME}
DEV_NAMES = {canonicalize_name(r.name) for r in DEV}


def _imports(path: Path, *, lazy: bool) -> Iterator[tuple[str, int]]:
    """(module, line) of each absolute import; ``lazy=False``: only those run at import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = ast.walk(tree) if lazy else _module_level(tree.body)
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # ``from pkg import sub``: ``sub`` may be a module of another distribution
            # (namespace packages); the deepest file found decides.
            yield from ((f"{node.module}.{alias.name}", node.lineno) for alias in node.names)


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for node in body:
        yield node
        if isinstance(node, ast.If | ast.Try):  # import-time branches, TYPE_CHECKING aside
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            yield from _module_level([*node.body, *node.orelse])


@cache
def _owner_of_file() -> dict[str, str]:
    owners: dict[str, str] = {}
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        for file in dist.files or ():
            owners[os.path.normpath(dist.locate_file(file))] = name
    return owners


def _locate(module: str) -> Path | None:
    """The deepest file of ``module`` (or of its nearest parent) on ``sys.path``, found
    without importing anything; namespace packages are looked through."""
    directories = [Path(p) for p in sys.path if p and Path(p).is_dir()]
    found: Path | None = None
    for part in module.split("."):
        deeper: list[Path] = []
        for directory in directories:
            package = directory / part
            if (package / "__init__.py").is_file():
                found, deeper = package / "__init__.py", [package]
                break
            modules = [directory / f"{part}.py", *directory.glob(f"{part}.*.so")]
            if existing := [m for m in modules if m.is_file()]:
                return existing[0]
            if package.is_dir():
                deeper.append(package)  # a namespace package's portion
        if not deeper:
            break
        directories = deeper
    return found


@cache
def distribution_of(module: str) -> str | None:
    """The installed distribution holding ``module``."""
    origin = _locate(module)
    return None if origin is None else _owner_of_file().get(os.path.normpath(origin))


def _is_dev_stack(path: Path) -> bool:
    relative = path.relative_to(ROOT).as_posix()
    return any(relative == d or relative.startswith(f"{d}/") for d in DEV_STACK)


def _sources(package: str, *, dev_stack: bool) -> list[Path]:
    return [p for p in sorted((ROOT / package).rglob("*.py")) if _is_dev_stack(p) == dev_stack]


def _third_party(paths: list[Path], *, lazy: bool) -> Iterator[tuple[str, str, Path, int]]:
    for path in paths:
        for module, line in _imports(path, lazy=lazy):
            top = module.split(".")[0]
            if top in FIRST_PARTY or top in sys.stdlib_module_names or top == "__future__":
                continue
            yield module, distribution_of(module) or f"<not installed: {module}>", path, line


def test_shipped_code_imports_only_runtime_dependencies() -> None:
    problems = [
        f"{path.relative_to(ROOT)}:{line} imports {module} from {dist}"
        for package in SHIPPED
        for module, dist, path, line in _third_party(_sources(package, dev_stack=False), lazy=True)
        if dist not in RUNTIME_NAMES
    ]
    assert problems == [], "not a runtime dependency in pyproject.toml:\n" + "\n".join(problems)


def test_dev_stack_imports_dev_dependencies_only_lazily() -> None:
    dev_stack = [p for package in [*SHIPPED, "ikmdev"] for p in _sources(package, dev_stack=True)]
    allowed = _closure(RUNTIME) | _closure(DEV)
    eager = [
        f"{path.relative_to(ROOT)}:{line} imports {module} from {dist} at import time"
        for module, dist, path, line in _third_party(_sources("ikmdev", dev_stack=True), lazy=False)
        if dist not in RUNTIME_NAMES
    ]
    assert eager == []
    unknown = [
        f"{path.relative_to(ROOT)}:{line} imports {module} from {dist}"
        for module, dist, path, line in _third_party(dev_stack, lazy=True)
        if dist not in allowed
    ]
    assert unknown == []


def _closure(requirements: list[Requirement]) -> set[str]:
    """The distributions ``requirements`` install (extras and markers as on this machine)."""
    seen: set[str] = set()
    todo = [(r, set(r.extras)) for r in requirements if not r.marker or r.marker.evaluate()]
    while todo:
        requirement, extras = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in seen and not extras:
            continue
        seen.add(name)
        try:
            specs = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:  # not installed here: out of sync, `uv sync`
            continue
        for spec in specs:
            needed = Requirement(spec)
            wanted = needed.marker is None or any(
                needed.marker.evaluate({"extra": extra}) for extra in extras or {""}
            )
            if wanted:
                todo.append((needed, set(needed.extras)))
    return seen


def _modules_only_in(dists: set[str], besides: set[str]) -> set[str]:
    """Top-level modules that ``dists`` provide and none of ``besides`` does."""
    providers = metadata.packages_distributions()
    return {
        module
        for module, names in providers.items()
        if {canonicalize_name(n) for n in names} & dists
        and not {canonicalize_name(n) for n in names} & besides
    }


_PRODUCTION_IMPORT = """
import importlib, importlib.abc, pkgutil, sys
blocked = set(sys.argv[1].split(","))
class DevOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"{name} is dev-only (not in the production image)")
        return None
sys.meta_path.insert(0, DevOnly())
skip = set(sys.argv[2].split(","))
failed = []
for package in sys.argv[3:]:
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        if info.name in skip:
            continue
        try:
            importlib.import_module(info.name)
        except Exception as exc:
            failed.append(f"{info.name}: {exc!r}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_shipped_module_imports_without_the_dev_dependencies() -> None:
    """What the production image can import: every shipped module (and ``ikm dev``'s,
    whose dev dependencies come lazily), with every dev-only package made unimportable."""
    runtime = _closure(RUNTIME) | {"ikm-platform"}
    dev_only = _closure(DEV) - runtime
    blocked = _modules_only_in(dev_only, runtime)
    assert {"yaml", "testcontainers", "aiosmtpd"} <= blocked
    skip = {"ikm_cli.devextras"}  # the SMTP sink of `ikm dev up`: aiosmtpd, by design
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _PRODUCTION_IMPORT,
            ",".join(sorted(blocked)),
            ",".join(skip),
            *SHIPPED,
            "ikmdev",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]


def test_the_production_install_leaves_out_what_nothing_runs() -> None:
    runtime = _closure(RUNTIME)
    assert {"uvicorn", "httptools"} <= runtime  # the entrypoint's --http httptools
    # --loop asyncio (uvloop's tail, docs/performance.md): nothing installs a loop nobody runs.
    assert not {"watchfiles", "websockets", "pyyaml", "uvloop"} & runtime


def test_every_requirement_follows_the_version_policy() -> None:
    """``>=`` the tested version, ``<`` the next breaking one; the lock holds the pin."""
    problems = [
        str(r)
        for r in [*RUNTIME, *DEV]
        if sorted(s.operator for s in r.specifier) != ["<", ">="]
        or not r.specifier.contains(metadata.version(r.name), prereleases=True)
    ]
    assert problems == []


def test_every_extra_named_exists_and_brings_something() -> None:
    """An extra the package does not declare, or one that adds no requirement, is a
    phantom: the resolver ignores it (or warns), and the reader is misled."""
    problems = []
    for requirement in [*RUNTIME, *DEV]:
        if not requirement.extras:
            continue
        meta = metadata.metadata(requirement.name)
        declared = set(meta.get_all("Provides-Extra") or [])
        needs = [Requirement(r) for r in meta.get_all("Requires-Dist") or []]
        for extra in sorted(requirement.extras):
            brings = [r for r in needs if r.marker and r.marker.evaluate({"extra": extra})]
            if extra not in declared or not brings:
                problems.append(f"{requirement.name}[{extra}]")
    assert problems == []
