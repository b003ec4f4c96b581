"""`PullTally`: the bytes of a pull from its layer messages (the CLI board and the console pane)."""

from __future__ import annotations

from corral.backends.images import LayerProgress, PullTally


def test_layers_count_from_their_first_download_and_whole_once_complete() -> None:
    tally = PullTally()
    assert tally.add(LayerProgress("a", "Pulling fs layer")) == (0, None)
    assert tally.add(LayerProgress("b", "Already exists")) == (0, None)
    assert tally.add(LayerProgress("a", "Downloading", 100, 1000)) == (100, 1000)
    assert tally.add(LayerProgress("c", "Downloading", 50, 500)) == (150, 1500)
    assert tally.add(LayerProgress("a", "Download complete")) == (1050, 1500)
    assert tally.add(LayerProgress("c", "Pull complete")) == (1500, 1500)
