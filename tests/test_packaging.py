"""The installed shape: one top-level package, ``revisit``, whatever the checkout's folders are.

PyPI has packages named ``stream``, ``alerts`` and ``enrichment``; revisit must install beside
them. The wheel is built from this checkout and installed into a fresh virtualenv next to a local
package named ``stream``; both must import, and revisit's stages must import as ``revisit.*``.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    (built,) = out.glob("revisit-*.whl")
    return built


def test_the_wheel_holds_one_top_level_package_with_the_stages_inside(wheel) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"revisit"}
    for module in (
        "revisit/stream/formats.py",
        "revisit/enrichment/match.py",
        "revisit/alerts/policy.py",
        "revisit/enrichment/data/legal_forms.txt",
        "revisit/storage/migrations/env.py",
        "revisit/web/templates/base.html",
        "revisit/web/static/api-docs.js",
        "revisit/web/locale/ja/LC_MESSAGES/messages.mo",  # compiled in the package: nothing to fetch or build
    ):
        assert module in names, module


def test_the_wheel_installs_beside_a_package_named_stream(wheel, tmp_path) -> None:
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=False)
    python = environment / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    dummy = Path(purelib) / "stream"
    dummy.mkdir(parents=True)
    (dummy / "__init__.py").write_text("WHO = 'the other stream package'\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
        text=True,
    )
    # revisit's own dependencies come from the test environment, after the fresh one's packages
    (Path(purelib) / "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    probe = (
        "import stream, revisit.stream.formats, revisit.enrichment.match, revisit.alerts.policy, revisit.cli;"
        "print(stream.WHO); print(revisit.stream.formats.__file__)"
    )
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    who, formats = result.stdout.splitlines()
    assert who == "the other stream package"
    assert formats.startswith(purelib) and formats.endswith("revisit/stream/formats.py")
    # the whole job from the installed wheel, outside the checkout: package data found by its
    # installed name (legal forms, access providers, migrations), the same alerts as from the checkout
    demo = subprocess.run(
        [str(python), "-m", "revisit", "demo", "--out", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert demo.returncode == 0, demo.stderr
    assert demo.stdout.startswith("revisit デモ：2026-11-20（JST）のアクセスログ 28,996 行、休眠リストの取引先 10 社")
    assert "アラート 8（新規 8）" in demo.stdout  # the summary in Japanese, as the rest
    assert "一致：取引先 C-1012「株式会社こだま製作所」（別名による、確度 0.51）" in demo.stdout  # its mmdb, explained
