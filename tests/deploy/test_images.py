"""Images are pinned by digest (tag for people, digest for the bytes) and kept current by
Renovate; the service image carries the OCI labels and only what the services run."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.deploy.manifests import ROOT, load_compose

DOCKERFILE = ROOT / "Dockerfile"
RENOVATE = ROOT / "renovate.json"
PINNED = re.compile(r"^[\w.\-/]+(:[\w.\-]+)@sha256:[0-9a-f]{64}$")
SERVICES = ("registry", "subsidy", "training", "notify", "insights")
OCI = ("title", "description", "source", "licenses", "version", "revision", "created")


def dockerfile_arguments() -> dict[str, str]:
    text = DOCKERFILE.read_text(encoding="utf-8")
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", text, flags=re.MULTILINE))


def dockerfile_images() -> list[str]:
    """Every image a FROM or COPY --from names (ARG defaults resolved, stage names left out)."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    arguments = dockerfile_arguments()
    stages = set(re.findall(r"^FROM \S+ AS (\w+)$", text, flags=re.MULTILINE))
    images = re.findall(r"^FROM (\S+)", text, flags=re.MULTILINE)
    images += re.findall(r"COPY --from=(\S+)", text)
    resolved = [re.sub(r"\$\{(\w+)\}", lambda m: arguments[m[1]], image) for image in images]
    return [image for image in resolved if image not in stages]


def test_every_dockerfile_image_is_pinned_by_digest() -> None:
    images = dockerfile_images()
    assert any(image.startswith("python:3.13-slim-bookworm@") for image in images), images
    assert any(image.startswith("ghcr.io/astral-sh/uv:") for image in images), images
    unpinned = [image for image in images if not PINNED.match(image)]
    assert not unpinned, unpinned


def test_every_compose_image_is_pinned_by_digest() -> None:
    services = load_compose()["services"]
    pulled = {name: s["image"] for name, s in services.items() if "build" not in s}
    assert len(pulled) >= 10, pulled
    unpinned = {name: image for name, image in pulled.items() if not PINNED.match(image)}
    assert not unpinned, unpinned


def test_digest_check_refuses_tags_and_short_digests() -> None:
    assert not PINNED.match("python:3.13-slim-bookworm")
    assert not PINNED.match("mongo:8.0@sha256:4968f22d")
    assert not PINNED.match("mongo@sha256:" + "a" * 64)  # the tag says what the digest is
    assert PINNED.match("ghcr.io/kafbat/kafka-ui:v1.5.0@sha256:" + "0" * 64)


def test_renovate_keeps_the_digests_current() -> None:
    config = json.loads(RENOVATE.read_text(encoding="utf-8"))
    assert config["pinDigests"] is True
    managers = set(config["enabledManagers"])
    assert {"dockerfile", "docker-compose"} <= managers
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.renovate",
            str(RENOVATE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_carries_the_oci_labels_from_build_arguments() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    runtime = text[text.rindex("\nFROM ") :]
    labels = dict(re.findall(r"(org\.opencontainers\.image\.\w+)=(\"[^\"]*\"|\S+)", runtime))
    assert set(labels) == {f"org.opencontainers.image.{key}" for key in OCI}
    for key in ("version", "revision", "created", "source"):
        assert labels[f"org.opencontainers.image.{key}"] == f'"${{{key.upper()}}}"', key
        assert re.search(rf"^ARG {key.upper()}\b", runtime, flags=re.MULTILINE), key
    assert labels["org.opencontainers.image.licenses"] == '"Apache-2.0"'


def test_the_production_image_leaves_the_development_stack_out() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "--no-dev" in text
    assert re.search(r"rm -rf .*site-packages/ikmdev", text), "ikmdev stays in the image"


@pytest.mark.parametrize("service", SERVICES)
def test_services_run_without_the_development_stack(service: str) -> None:
    """What the image drops (ikmdev) no service imports: each app is built with it blocked."""
    code = (
        "import sys; sys.modules['ikmdev'] = None\n"
        f"import services.{service}.main as m\n"
        "m.create_app()\n"
        "import ikm_cli.main, ikm_cli.outbox, ikm_cli.audit\n"
        "assert not [n for n in sys.modules if n.startswith('ikmdev.')]\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "IKM_ENV": "development", "HOME": str(ROOT)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
