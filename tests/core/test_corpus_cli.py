"""The bad-input corpus through the command line and the Python API.

Every case of tests/corpus/make_corpus.py, every command it names: exit 2 with one `error:`
line that names the file, or exit 0 where the input is odd but loadable; never a traceback,
never a hang. Each (case, command) runs in-process (fast); every case also runs once as a
real `python -m udl_core` subprocess, all of them side by side in one fixture.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from corpus_support import CASES, Answer, judge, make_corpus, run_in_process, run_subprocess

import udl_core.errors as errors



def _restore_permissions(folder: Path) -> None:
    for dirpath, dirnames, _ in os.walk(folder):
        for name in dirnames:
            path = Path(dirpath) / name
            if not path.is_symlink():
                path.chmod(0o755)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    make_corpus.build_all(folder)
    yield folder
    _restore_permissions(folder)
    shutil.rmtree(folder, ignore_errors=True)


def _skip(case) -> None:
    reason = case.skip_if()
    if reason:
        pytest.skip(reason)


def test_corpus_is_big_enough(corpus):
    assert len(CASES) >= 30
    assert len({case.name for case in CASES}) == len(CASES)
    assert len(make_corpus.corpus_files(corpus)) >= 30


@pytest.mark.slow
def test_corpus_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    make_corpus.build_all(a)
    make_corpus.build_all(b)
    for path in make_corpus.corpus_files(a):
        twin = b / path.relative_to(a)
        if path.is_fifo() or "pickle_payload" in str(path):   # payloads hold their own path
            continue
        if path.suffix == ".npz":   # zip members carry a timestamp: compare the members
            with zipfile.ZipFile(path) as one, zipfile.ZipFile(twin) as two:
                assert [(i.filename, i.file_size, i.CRC) for i in one.infolist()] == \
                    [(i.filename, i.file_size, i.CRC) for i in two.infolist()]
            continue
        assert filecmp.cmp(path, twin, shallow=False), path.relative_to(a)   # in chunks: some are sparse GiBs
    _restore_permissions(a)
    _restore_permissions(b)


IN_PROCESS = [
    pytest.param(case, command, id=f"{case.name}-{command}")
    for case in CASES
    if not case.hazard
    for command in case.commands
]


@pytest.mark.parametrize(("case", "command"), IN_PROCESS)
def test_cli_in_process(corpus, case, command):
    _skip(case)
    judge(case, command, run_in_process(case.argv(command, corpus)))


# The in-process runs cover every case; these also go through a real interpreter: every case
# that could hang (only a subprocess can be timed out) and one of each family of answer.
SUBPROCESS_CASES = [case for case in CASES if case.hazard or case.name in {
    "missing_path", "empty_file", "binary_garbage_csv", "truncated_parquet", "npz_pickle_payload",
    "ragged_few_rows", "unknown_label", "images_one_bad_among_good", "pair_lengths_differ",
    "batch_size_zero", "long_field_10mb", "utf16_excel_export", "image_decompression_bomb", "diverging_lr",
    "undecodable_file_name", "images_one_class",
}]


@pytest.fixture(scope="module")
def subprocess_answers(corpus) -> dict[str, Answer]:
    """Each case's first command as a real `python -m udl_core` run, side by side."""
    runnable = [case for case in SUBPROCESS_CASES if not case.skip_if()]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = pool.map(lambda case: run_subprocess(case.argv(case.commands[0], corpus), timeout=30), runnable)
        return {case.name: answer for case, answer in zip(runnable, answers)}


@pytest.mark.slow
@pytest.mark.parametrize("case", SUBPROCESS_CASES, ids=[case.name for case in SUBPROCESS_CASES])
def test_cli_subprocess(subprocess_answers, case):
    _skip(case)
    judge(case, case.commands[0], subprocess_answers[case.name])


def _api_load(case, folder: Path):
    """What the command would do, through the Python API: load, and fetch the batch it names."""
    from udl_core.cli import build_parser, loader_from_args

    args = build_parser().parse_args(case.argv("batch", folder))
    loader = loader_from_args(args)
    loader.get_batch(args.index, split=args.split)
    return loader


API_CASES = [case for case in CASES if not case.hazard and "train" not in str(case.expect)
             and case.commands != ("train",)]


@pytest.mark.parametrize("case", API_CASES, ids=[case.name for case in API_CASES])
def test_api_raises_documented_errors(corpus, case):
    _skip(case)
    expect = case.expect_for(case.commands[0])
    if expect == "error":
        wanted = tuple(getattr(errors, name) for name in case.raises)
        with pytest.raises(errors.UDLError) as caught:
            _api_load(case, corpus)
        assert isinstance(caught.value, wanted), f"{type(caught.value).__name__}: {caught.value}"
        if isinstance(caught.value, errors.DatasetError):
            assert any(name in str(caught.value) for name in case.names()), str(caught.value)
        return
    try:
        loader = _api_load(case, corpus)
    except errors.UDLError as exc:
        assert expect == "handled", f"{type(exc).__name__}: {exc}"
        return
    assert loader.num_train > 0
    if expect == "quarantine":
        assert loader.quarantine, "bad records were skipped silently"
        target = str(corpus / case.name / case.target)
        assert all(record.source.startswith(target) for record in loader.quarantine), loader.quarantine
        assert all(record.reason for record in loader.quarantine)


def test_quarantine_counts_are_exact(corpus):
    """The ragged CSV has exactly 3 bad rows of 200; the JSON Lines file exactly 2 of 200."""
    from udl_core.loader import UnifiedDataLoader

    ragged = UnifiedDataLoader(corpus / "ragged_few_rows" / "data.csv").load()
    assert len(ragged.quarantine) == 3
    assert ragged.table.num_rows == 197
    jsonl = UnifiedDataLoader(corpus / "jsonl_two_lines_broken" / "data.jsonl").load()
    assert len(jsonl.quarantine) == 2
    assert jsonl.table.num_rows == 198


def test_symlink_loop_counts_each_image_once(corpus, subprocess_answers):
    from udl_core.loader import UnifiedDataLoader

    if subprocess_answers["images_symlink_loop"].code not in (0, 2):
        pytest.fail("the symlink loop hung or crashed the CLI; not retried in-process")

    loader = UnifiedDataLoader(corpus / "images_symlink_loop" / "imgs").load()
    assert loader.table.num_rows == 12
    assert loader.num_classes == 2


def test_one_bad_image_is_quarantined_by_name(corpus):
    from udl_core.loader import UnifiedDataLoader

    loader = UnifiedDataLoader(corpus / "images_one_bad_among_good" / "imgs").load()
    assert loader.table.num_rows == 20
    assert len(loader.quarantine) == 1
    assert "broken.png" in str(loader.quarantine[0])


def test_distinct_labels_are_flagged(corpus):
    """Every label distinct is legal to inspect, but the schema must warn about it (or refuse)."""
    from udl_core.loader import UnifiedDataLoader

    try:
        loader = UnifiedDataLoader(corpus / "distinct_string_labels" / "data.csv", label="name").load()
    except errors.SchemaError:
        return
    assert loader.warnings or loader.schema.warnings, "200 distinct labels in 200 rows went unremarked"
