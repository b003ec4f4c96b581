"""`build:` services: built with the operator's local engine, then pushed to the hosts.

The plan gives each host that runs a built service a `push from local build`
row (`image_plan.py`), or `unavailable` when this machine has no Docker
engine (its socket: `CORRAL_LOCAL_DOCKER`, default `/var/run/docker.sock`),
which stops the deploy at preflight in one line. The apply builds each image
once (docker-py's `build` with the context folder; `Step` lines as progress),
then pushes it like any image read from an engine: only the layers a host
lacks cross, over SSH (`images.push_image`, gate verb `image.push`).

The image keeps its name (`image:`, else `STACK-SERVICE:corral`) from one
build to the next; what tells builds apart is the context's content digest,
a container label (`files.mark_builds`, part of the configuration hash): an
edited context recreates the service's containers after the apply rebuilt
and pushed the image, an unchanged one builds nothing.

Blocking docker-py calls: run on a worker thread or the command line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker

from corral.backends.deploy.prepare import Prepared, Progress, ProgressCallback
from corral.backends.errors import DeployError, PushSourceMissing
from corral.backends.images import saved_archive
from corral.backends.inventory.load import DEFAULT_SOCKET
from corral.backends.translate import translate_docker_error
from corral.catalog.spec import Build

#: The push source name of images built here.
LOCAL_BUILD = "local build"
ENV_LOCAL_DOCKER = "CORRAL_LOCAL_DOCKER"
_BUILD_TIMEOUT = 600


def local_socket() -> str | None:
    """This machine's Docker engine socket, or None when there is none."""
    socket = os.environ.get(ENV_LOCAL_DOCKER) or DEFAULT_SOCKET
    return socket if Path(socket).is_socket() else None


def no_engine_reason() -> str:
    """Why a built image is unavailable without a local engine (one line)."""
    socket = os.environ.get(ENV_LOCAL_DOCKER) or DEFAULT_SOCKET
    return (f"build: needs a Docker engine on this machine to build with (none at {socket};"
            f" set {ENV_LOCAL_DOCKER}), or build and push it yourself and name it in image:")


def builds_of(prepared: Prepared) -> dict[str, Build]:
    """Image -> how to build it, for the stack's `build:` services."""
    return {s.image: s.build for s in prepared.stack.services if s.build and s.image}


class LocalBuilder:
    """The operator's local engine: builds images and is the source they are pushed from."""

    name = LOCAL_BUILD

    def __init__(self, socket: str):
        self.socket = socket
        self.client = docker.DockerClient(base_url=f"unix://{socket}", version="auto",
                                          timeout=_BUILD_TIMEOUT)

    def build(self, image: str, spec: Build, report: ProgressCallback) -> None:
        """Build `image` from `spec`, reporting each `Step` line.

        Raises:
            DeployError: The build failed (its last error line).
        """
        report(Progress(LOCAL_BUILD, image, "build", "running", spec.context))
        try:
            for chunk in self.client.api.build(
                    path=spec.context, dockerfile=spec.dockerfile, tag=image,
                    buildargs=dict(spec.args) or None, target=spec.target, rm=True,
                    decode=True):
                if "error" in chunk:
                    raise DeployError(f"building {image} failed: {chunk['error'].strip()}")
                line = str(chunk.get("stream") or "").strip()
                if line.startswith("Step "):
                    report(Progress(LOCAL_BUILD, image, "build", "building", line))
        except DeployError as exc:
            report(Progress(LOCAL_BUILD, image, "build", "failed", exc.message))
            raise
        except Exception as exc:
            error = translate_docker_error(exc, LOCAL_BUILD)
            report(Progress(LOCAL_BUILD, image, "build", "failed", error.message))
            raise DeployError(f"building {image} failed: {error.message}") from exc
        report(Progress(LOCAL_BUILD, image, "build", "done", f"from {spec.context}"))

    def inspect(self, image: str) -> dict[str, Any]:
        try:
            return self.client.api.inspect_image(image)
        except docker.errors.NotFound:
            raise PushSourceMissing(f"no image {image}", host=self.name) from None
        except Exception as exc:
            raise translate_docker_error(exc, self.name) from exc

    def archive(self, image: str, chunk_size: int) -> Iterator[bytes]:
        return saved_archive(self.client, self.name, image, chunk_size)


def build_all(prepared: Prepared, images: list[str], report: ProgressCallback
              ) -> LocalBuilder | None:
    """Build each of `images` (built services' images the plan pushes) with the local engine.

    Returns:
        The builder (the push source), or None when nothing is built.

    Raises:
        DeployError: No local engine, or a build failed; no container was changed.
    """
    if not images:
        return None
    socket = local_socket()
    if socket is None:
        raise DeployError(no_engine_reason())
    builder = LocalBuilder(socket)
    builds = builds_of(prepared)
    for image in images:
        builder.build(image, builds[image], report)
    return builder
