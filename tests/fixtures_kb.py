"""Shared pytest fixtures of the knowledge tables (tools.kb).

- ``debian_downloads`` (autouse): AUTON_SLM_DEBIAN_CACHE points at the user's Debian download
  cache (as it was before the session's own AUTON_SLM_CACHE): the archive indexes and kernel
  packages are downloaded once per machine, not once per test session. They are archive data,
  not measurements of this machine, so sharing them misleads nothing.
- ``kb_blob``: a factory ``(arch, tier="tiny") -> KbBuildResult`` building each blob once per session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import pytest

from tools.kb.apt import debian_cache

USER_DEBIAN_CACHE = debian_cache()  # at import: before the session's AUTON_SLM_CACHE is set


@pytest.fixture(scope="session", autouse=True)
def debian_downloads() -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTON_SLM_DEBIAN_CACHE", str(USER_DEBIAN_CACHE))
        yield USER_DEBIAN_CACHE


@pytest.fixture(scope="session")
def kb_blob(tmp_path_factory: pytest.TempPathFactory, debian_downloads: Path) -> Callable:
    from tools.kb.build import KbBuildRequest, build
    from tools.task.requests import phrasing_words

    root = tmp_path_factory.mktemp("kb")

    @cache
    def make(arch: str, tier: str = "tiny"):
        return build(KbBuildRequest(arch=arch, tier=tier, out=root / f"{arch}-{tier}", phrasing=phrasing_words()))

    return make
