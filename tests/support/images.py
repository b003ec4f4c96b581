"""Multi-layer test images built on a lab host, and the lab registry seeded with them.

Images are built by committing layers onto the lab's busybox image (there is no
registry to pull a base from): one layer holds a large random file, so byte
counts of a transfer are visible; another holds a small marker file.
"""

from __future__ import annotations

import contextlib
import uuid

import docker

BASE_IMAGE = "corral-lab/busybox:1"
MB = 1024 * 1024


def commit_layer(client: docker.DockerClient, base: str, script: str, repo: str,
                 tag: str, changes: list[str] | None = None) -> str:
    """Run `script` in a container of `base` and commit its changes as one new layer.

    Returns:
        The new image's ID (`sha256:...`), tagged `repo:tag`.
    """
    container = client.containers.create(base, ["sh", "-c", script],
                                         name=f"layer-{uuid.uuid4().hex[:8]}")
    try:
        container.start()
        result = container.wait(timeout=120)
        if result.get("StatusCode") != 0:
            raise AssertionError(f"layer script failed ({result}): {script}")
        image = container.commit(repository=repo, tag=tag, changes=changes)
    finally:
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)
    return image.id


def build_layered_image(client: docker.DockerClient, repo: str, tag: str = "1", *,
                        big_bytes: int = 8 * MB, marker: str = "",
                        base: str = BASE_IMAGE) -> str:
    """A two-layer image on top of `base`: `/payload.bin` (`big_bytes` random bytes), then
    `/etc/corral-marker` (holding `marker`, so two builds differ in their last layer).

    Args:
        client: A docker-py client of the host to build on (e.g. `lab_cli.engine`).
        repo: The repository to tag the result with.
        tag: Its tag.
        big_bytes: Size of the random file of the first new layer.
        marker: Text of the marker file (default: a fresh random string).
        base: The image to build on.

    Returns:
        The image ID of `repo:tag`.
    """
    marker = marker or uuid.uuid4().hex
    staging = f"{repo}-payload"
    commit_layer(client, base,
                 f"head -c {big_bytes} /dev/urandom > /payload.bin", staging, tag)
    try:
        return commit_layer(client, f"{staging}:{tag}",
                            f"echo {marker} > /etc/corral-marker", repo, tag,
                            changes=['CMD ["sh"]'])
    finally:
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(f"{staging}:{tag}", noprune=True)


def layer_ids(client: docker.DockerClient, image: str) -> list[str]:
    """The image's layer diffIDs (`RootFS.Layers`), base first."""
    return list(client.api.inspect_image(image)["RootFS"]["Layers"])


def push_to_registry(client: docker.DockerClient, image: str, ref: str) -> str:
    """Tag `image` as `ref` (REGISTRY/REPO:TAG) and push it with the host's engine.

    Returns:
        The pushed manifest's digest (`sha256:...`).

    Raises:
        AssertionError: The push reported an error.
    """
    repo, tag = ref.rsplit(":", 1)
    client.api.tag(image, repo, tag)
    digest = ""
    for event in client.api.push(repo, tag, stream=True, decode=True):
        if "error" in event:
            raise AssertionError(f"push of {ref} failed: {event['error']}")
        digest = (event.get("aux") or {}).get("Digest", digest)
    return digest


def remove_image(client: docker.DockerClient, ref: str) -> None:
    """Remove `ref` if present (forced: tags and all), ignoring an image already gone."""
    with contextlib.suppress(docker.errors.NotFound):
        client.images.remove(ref, force=True)
