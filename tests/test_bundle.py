"""The app's packaging: the PyInstaller spec, the macOS Info.plist, the Linux desktop entry and MIME
types, the icon set drawn from the SVG, and `make install-desktop` into the user's XDG folders."""

from __future__ import annotations

import ast
import configparser
import plistlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bundle import desktop  # noqa: E402
from bundle.make_icons import PNG_SIZES, make_icons  # noqa: E402

EXTENSIONS = ("csv", "tsv", "txt", "json", "jsonl", "ndjson", "parquet", "feather", "arrow", "ipc", "npy", "npz")
# The UTIs macOS itself declares for some of them; the others the plist must import.
SYSTEM_UTIS = {"csv": "public.comma-separated-values-text", "tsv": "public.tab-separated-values-text",
               "txt": "public.plain-text", "json": "public.json"}
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"


def _project() -> dict:
    tomllib = pytest.importorskip("tomllib")   # Python 3.11+
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _version() -> str:
    return _project()["version"]


@pytest.fixture(scope="module")
def plist() -> dict:
    return plistlib.loads((ROOT / "resources" / "Info.plist").read_bytes())


def test_info_plist_names_the_app_its_version_icon_and_platform(plist):
    assert plist["CFBundleIdentifier"] == "org.udl.UDL"
    assert plist["CFBundleName"] == plist["CFBundleExecutable"] == "UDL"
    assert plist["CFBundleVersion"] == plist["CFBundleShortVersionString"] == _version()
    assert plist["CFBundleIconFile"] == "udl.icns"
    assert plist["CFBundlePackageType"] == "APPL"
    assert plist["LSArchitecturePriority"] == ["arm64"]
    assert plist["LSMinimumSystemVersion"] == "14.0"   # MLX's wheels: macOS 14.0 or later
    assert plist["NSHighResolutionCapable"] is True


def test_info_plist_opens_every_dataset_format_and_folders(plist):
    imported = {t["UTTypeIdentifier"]: t["UTTypeTagSpecification"]["public.filename-extension"]
                for t in plist["UTImportedTypeDeclarations"]}
    for ext in EXTENSIONS:
        types = [d for d in plist["CFBundleDocumentTypes"] if ext in d.get("CFBundleTypeExtensions", [])]
        assert len(types) == 1, ext
        utis = types[0]["LSItemContentTypes"]
        assert SYSTEM_UTIS.get(ext) in utis or any(ext in imported.get(uti, []) for uti in utis), ext
        assert types[0]["CFBundleTypeRole"] == "Viewer"
    folders = [d for d in plist["CFBundleDocumentTypes"] if "public.folder" in d["LSItemContentTypes"]]
    assert len(folders) == 1
    assert set(imported) <= {uti for d in plist["CFBundleDocumentTypes"] for uti in d["LSItemContentTypes"]}


def _spec() -> ast.Module:
    return ast.parse((ROOT / "bundle" / "udl.spec").read_text(encoding="utf-8"))


def _call(tree: ast.Module, name: str) -> ast.Call:
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == name]
    assert len(calls) == 1, name
    return calls[0]


def test_spec_builds_the_folder_and_the_mac_bundle_from_one_configuration():
    tree = _spec()
    source = ast.unparse(tree)
    analysis = _call(tree, "Analysis")
    assert "app.py" in ast.unparse(analysis.args[0])
    keywords = {k.arg: k.value for k in _call(tree, "BUNDLE").keywords}
    assert ast.literal_eval(keywords["name"]) == "UDL.app"
    assert {"icon", "bundle_identifier", "version", "info_plist"} <= set(keywords)
    assert "Info.plist" in source and "udl.icns" in source
    assert ast.literal_eval({k.arg: k.value for k in _call(tree, "COLLECT").keywords}["name"]) == "UDL"
    exe = {k.arg: k.value for k in _call(tree, "EXE").keywords}
    assert ast.literal_eval(exe["name"]) == "UDL" and ast.literal_eval(exe["argv_emulation"]) is False
    assert "'arm64'" in ast.unparse(exe["target_arch"])
    assert "UDL_CODESIGN_IDENTITY" in ast.unparse(exe["codesign_identity"])
    assert plistlib.loads((ROOT / "bundle" / "entitlements.plist").read_bytes())
    excludes = next(ast.literal_eval(n.value) for n in tree.body
                    if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "EXCLUDES")
    assert {"PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets", "pytest", "pyarrow.tests"} <= set(excludes)
    assert 'collect_dynamic_libs("mlx")' in (ROOT / "bundle" / "udl.spec").read_text(encoding="utf-8")
    for resource in ("sample.csv", "udl.svg"):
        assert resource in source


def test_pyinstaller_is_an_extra_of_its_own():
    project = _project()
    assert any(dep.lower().startswith("pyinstaller") for dep in project["optional-dependencies"]["app"])
    assert not any("pyinstaller" in dep.lower() for dep in project["dependencies"] +
                   project["optional-dependencies"]["test"])


def _desktop_entry(text: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read_string(text)
    return parser["Desktop Entry"]


def _mime_types() -> dict[str, list[str]]:
    root = ET.parse(ROOT / "resources" / "udl-mime.xml").getroot()
    return {t.get("type"): [g.get("pattern") for g in t.iter(f"{MIME_NS}glob")] for t in root.iter(f"{MIME_NS}mime-type")}


def test_desktop_entry_is_valid_and_names_the_dataset_types():
    path = ROOT / "resources" / "udl.desktop"
    if shutil.which("desktop-file-validate"):
        done = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True)
        assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr
    entry = _desktop_entry(path.read_text(encoding="utf-8"))
    assert entry["Type"] == "Application" and entry["Name"] == "UDL" and entry["Icon"] == "udl"
    assert entry["Exec"].endswith(" %f") and entry["Terminal"] == "false"
    mime = set(entry["MimeType"].rstrip(";").split(";"))
    assert set(_mime_types()) <= mime
    assert {"text/csv", "application/json", "inode/directory"} <= mime


def test_mime_types_cover_parquet_arrow_npy_npz():
    globs = {g for patterns in _mime_types().values() for g in patterns}
    assert {"*.parquet", "*.feather", "*.arrow", "*.ipc", "*.npy", "*.npz", "*.jsonl", "*.ndjson"} <= globs


def test_icons_are_drawn_from_the_svg_in_every_size(tmp_path):
    written = make_icons(tmp_path)
    for n in PNG_SIZES:
        with Image.open(tmp_path / "hicolor" / f"{n}x{n}" / "apps" / "udl.png") as image:
            assert image.size == (n, n) and image.mode == "RGBA"
            assert image.getpixel((n // 2, n // 2))[3] == 255 and image.getpixel((0, 0))[3] < 255   # rounded corner
    with Image.open(tmp_path / "udl.icns") as icns:
        assert icns.format == "ICNS"
        assert {(512, 512, 2), (256, 256, 1), (128, 128, 1), (16, 16, 2)} <= set(icns.info["sizes"])
    assert tmp_path / "udl.icns" in written


def test_install_desktop_writes_only_xdg_files_and_uninstall_removes_them(tmp_path):
    home = tmp_path / "data"
    env = {"XDG_DATA_HOME": str(home), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home")}
    run = [sys.executable, "-m", "bundle.desktop"]
    done = subprocess.run([*run, "install", "--exec", "/opt/UDL App/UDL"], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    files = desktop.installed_files(home)
    assert all(path.is_file() for path in files)
    entry = _desktop_entry((home / "applications" / "udl.desktop").read_text(encoding="utf-8"))
    assert entry["Exec"] == '"/opt/UDL App/UDL" %f' and entry["TryExec"] == "/opt/UDL App/UDL"
    with Image.open(home / "icons" / "hicolor" / "48x48" / "apps" / "udl.png") as icon:
        assert icon.size == (48, 48)
    assert not (tmp_path / "home").exists()   # nothing outside XDG_DATA_HOME

    done = subprocess.run([*run, "uninstall"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not any(path.exists() for path in files)
    assert done.stdout.startswith(f"removed {len(files)} files")
