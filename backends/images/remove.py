"""Remove images no container uses from a host (`corral images prune`).

Each image is removed by its names (untagging; the engine deletes the layers
no other image holds) or, untagged, by its ID, never forced: an engine refuses
to remove an image a container was made from meanwhile, and that refusal is
the image's problem, not the command's end.

Blocking docker-py calls: run on a worker thread.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from corral.backends import guard
from corral.backends.errors import BackendError, NotFound
from corral.backends.images.listing import HostImage, list_images
from corral.backends.ssh.session import HostSession


@dataclass
class RemoveReport:
    """What a removal did on one host.

    Attributes:
        host: The inventory name of the host.
        removed: Each image removed (its first name, or its short ID).
        failed: Each image left in place -> the engine's reason.
        freed: Bytes of the images removed, as the engine sized them.
    """

    host: str
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    freed: int = 0

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


def unused_images(session: HostSession) -> list[HostImage]:
    """The images of the host no container (running or stopped) is made from.

    Raises:
        BackendError: The engine did not answer, translated.
    """
    return [image for image in list_images(session) if image.unused]


def remove_images(session: HostSession, images: list[HostImage], *,
                  readonly: bool = False) -> RemoveReport:
    """Remove `images` from the session's host, unless a container uses one by now.

    Runs inside the gate as `image.rm` on the host; images the engine keeps
    are the mutation's problems.

    Args:
        session: The host's session (online).
        images: What to remove (from `unused_images`, usually after asking).
        readonly: The caller's session is read-only.

    Returns:
        What was removed and what was not.

    Raises:
        ActionRefused: Read-only; nothing ran.
        BackendError: The engine stopped answering, translated.
    """
    names = [_label(image) for image in images]
    report = RemoveReport(session.name)
    with guard.mutating("image.rm", hosts=session.name, target=", ".join(names),
                        args={"images": len(images)},
                        readonly=readonly or session.readonly) as mutation:
        in_use = {image.image_id for image in list_images(session) if not image.unused}
        for image, name in zip(images, names, strict=True):
            if image.image_id in in_use:
                report.failed[name] = "a container uses it now"
                continue
            try:
                for reference in image.tags or [image.image_id]:
                    session.call(lambda client, ref=reference: client.api.remove_image(ref))
            except NotFound:
                pass  # gone meanwhile: what was wanted
            except BackendError as error:
                report.failed[name] = error.message
                continue
            report.removed.append(name)
            report.freed += image.size
        if report.failed:
            mutation.problems.update({session.name: "; ".join(
                f"{name}: {why}" for name, why in report.failed.items())})
    return report


def _label(image: HostImage) -> str:
    return image.tags[0] if image.tags else image.short_id
