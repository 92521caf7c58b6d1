"""The dataset on screen and the one asked for: their settings, the loads, and what each file remembers.

A dataset's settings are its own: the labels file, the label, and the schema's overrides
(`ignore`, `categorical`, `numeric`); batch size, seed and memory budget are the window's and go
with every load.

* A new path starts from its own defaults, never from the previous dataset's label, labels
  file or overrides; a labels file still in the field from the previous dataset is dropped.
* A labels file set, replaced or cleared resets the label to the labels file's.
* What a file was loaded with is remembered per file (QSettings group `datasets`, keyed by the
  resolved path) when it is not the default, and restored only when that same file is opened
  again (Recent, Open, the path typed again); the log says "restored settings". Settings that no
  longer load (the file changed) are forgotten, so the next open starts from the defaults.
* A guessed label shows the `LabelGuessBanner`: picking another reloads with it; Confirm names
  the guess (no reload) and remembers it for the file.
* Each load warning is logged once (a load reports it as it goes and lists it on the loader),
  in the window's words (`udl_core.wording.in_window_words`).
* A path typed in the field that fails to load stays there beside the error; a path opened,
  dropped or chosen from Recent gives way to the loaded dataset's again.
* The ways in: the dataset row (the path field, Open, Open Folder, the labels file and the
  label), the menus' Open, Open Folder and Open Recent (a loaded file goes to the top of it), a
  drop on the window, and the schema panel's overrides. A new seed reloads; a new batch size
  re-batches the loaded dataset in place (`rebatched`).
"""

from __future__ import annotations

import hashlib
import json
import os
import weakref
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QFileDialog

from udl_core.events import Notice
from udl_core.wording import in_window_words, plural
from udl_gui import jobs
from udl_gui.controls import AUTO_LABEL, DatasetRow, TrainingControls
from udl_gui.files import file_dialog_filter
from udl_gui.job_runner import JobRunner
from udl_gui.label_banner import LabelGuessBanner
from udl_gui.menus import Menus
from udl_gui.preferences import Preferences
from udl_gui.worker import Job

__all__ = ["DatasetController", "DatasetSettings", "RememberedSettings", "same_file"]

OVERRIDES = ("ignore", "categorical", "numeric")


@dataclass(frozen=True)
class DatasetSettings:
    """What one dataset is loaded with. `label` None is the default: label/target/class/y, the
    labels file's, else a guess."""

    path: str
    labels: str = ""
    label: str | None = None
    ignore: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()

    def loader_kwargs(self) -> dict[str, Any]:
        """The `UnifiedDataLoader` keyword arguments these settings give (the path aside)."""
        kwargs: dict[str, Any] = {"labels": self.labels, "label": self.label}
        kwargs.update({key: getattr(self, key) for key in OVERRIDES})
        return {key: value for key, value in kwargs.items() if value}

    def describe(self) -> str:
        """"label 'sex', labels y.npy, ignore a, b" ("" for the defaults)."""
        parts = [f"label '{self.label}'"] if self.label else []
        parts += [f"labels {Path(self.labels).name}"] if self.labels else []
        parts += [f"{key} {', '.join(getattr(self, key))}" for key in OVERRIDES if getattr(self, key)]
        return ", ".join(parts)


def _resolved(path: str) -> str:
    return os.path.realpath(os.path.expanduser(path))


def same_file(a: str, b: str) -> bool:
    return _resolved(a) == _resolved(b)


class RememberedSettings:
    """Per-file settings in QSettings: `datasets/<hash of the resolved path>` -> JSON of the
    settings (a hash: a path holds characters a settings key cannot)."""

    GROUP = "datasets"

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def _key(self, path: str) -> str:
        return f"{self.GROUP}/{hashlib.sha1(os.fsencode(_resolved(path))).hexdigest()[:24]}"

    def get(self, path: str) -> DatasetSettings | None:
        text = self.settings.value(self._key(path))
        try:
            data = json.loads(str(text)) if text else None
            if not isinstance(data, dict):
                return None
            known = {f.name for f in fields(DatasetSettings)} - {"path"}
            values = {k: tuple(v) if k in OVERRIDES else v for k, v in data.items() if k in known}
            return DatasetSettings(path, **values)
        except (ValueError, TypeError):   # an edited or older settings file: the defaults
            return None

    def put(self, settings: DatasetSettings) -> None:
        """Remember `settings` for its file; the defaults are forgotten (nothing to restore)."""
        own = {k: v for k, v in asdict(settings).items() if k != "path" and v}
        if own:
            self.settings.setValue(self._key(settings.path), json.dumps(own))
        else:
            self.forget(settings.path)

    def forget(self, path: str) -> None:
        self.settings.remove(self._key(path))


class DatasetController(QObject):
    """Loads for the window and the settings they are asked with; the window lays out and shows."""

    loaded = Signal(object, bool)   # the loader; True when it is another file than the one before
    rebatched = Signal()            # the loaded dataset took a new batch size in place

    def __init__(self, row: DatasetRow, banner: LabelGuessBanner, runner: JobRunner, controls: TrainingControls,
                 preferences: Preferences, menus: Menus, log: Callable[[str, str], None],
                 show_error: Callable[..., Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.row, self.banner, self.runner, self.menus = row, banner, runner, menus
        self.controls, self.preferences, self.log, self.show_error = controls, preferences, log, show_error
        self.memory = RememberedSettings(preferences.settings)
        self._job: weakref.ref[Job] | None = None   # the last load started (the runner owns it)
        self.loader: Any = None
        self.loaded_settings: DatasetSettings | None = None
        self.loaded_label: str | None = None       # the label as loaded (the default's pick included)
        self.pending_settings: DatasetSettings | None = None
        self._loaded_options: dict[str, Any] = {}
        self._pending_options: dict[str, Any] = {}
        self._typed = False
        self._restored = False
        self._row_before = ("", "")
        self._said: set[str] = set()
        banner.picked.connect(self._on_banner_picked)
        banner.confirmed.connect(self._on_banner_confirmed)
        row.path_edit.returnPressed.connect(self._on_path_edit_return_pressed)
        row.open_button.clicked.connect(self.open_file)
        row.folder_button.clicked.connect(self.open_folder)
        row.labels_button.clicked.connect(self._on_labels_button_clicked)
        row.labels_edit.returnPressed.connect(self._on_labels_edit_return_pressed)
        row.label_combo.activated.connect(self._on_label_combo_activated)
        controls.batch_size_spin.valueChanged.connect(self._on_batch_size_spin_changed)
        controls.seed_spin.valueChanged.connect(self._on_seed_spin_changed)
        menus.open_requested.connect(self.open_file)
        menus.open_folder_requested.connect(self.open_folder)
        menus.reload_requested.connect(self._on_menus_reload_requested)
        menus.recent_chosen.connect(self._on_menus_recent_chosen)
        menus.recent_cleared.connect(self._on_menus_recent_cleared)
        menus.set_recent(preferences.recent_files())

    # -- what a load is asked with -------------------------------------------------------
    def options(self) -> dict[str, Any]:
        """The window's options, the same for every dataset."""
        c = self.controls
        options: dict[str, Any] = {"batch_size": c.batch_size_spin.value(), "seed": c.seed_spin.value()}
        budget = self.preferences.memory_budget()
        if budget is not None:
            options["memory_budget"] = budget
        return options

    def loader_kwargs(self) -> dict[str, Any]:
        """The keyword arguments a load of the path in the field would get now."""
        text = self.row.path()
        return {**self.options(), **(self.wanted(text)[0].loader_kwargs() if text else {})}

    def _is_loaded(self, path: str) -> bool:
        return self.loaded_settings is not None and same_file(self.loaded_settings.path, path)

    def wanted(self, path: str, labels: str | None = None) -> tuple[DatasetSettings, bool]:
        """The settings a load of `path` asks for, from the row (see the module doc), and whether
        they were restored from what the file remembers. `labels` is a labels file given with the
        path (a drop, the command line): it replaces the field's."""
        loaded = self.loaded_settings
        row_labels = self.row.labels_path() if labels is None else labels
        if loaded is not None and self._is_loaded(path):
            label = self.row.label()
            if loaded.label is None and label == self.loaded_label:
                label = None   # the default's pick is still the default
            wanted = replace(loaded, path=path, labels=row_labels, label=label)
            if wanted.labels != loaded.labels:
                wanted = replace(wanted, label=None)   # a labels file brings its own label
            return wanted, False
        fresh = labels is not None or (loaded is None or row_labels != loaded.labels)
        given = row_labels if fresh else ""   # the previous dataset's labels file is not this one's
        remembered = self.memory.get(path)
        if remembered is None:
            return DatasetSettings(path, labels=given), False
        if given and given != remembered.labels:
            return replace(remembered, labels=given, label=None), True
        return remembered, True

    def _with_overrides(self, wanted: DatasetSettings, label: str | None, ignore: Iterable[str] | None,
                        categorical: Iterable[str] | None, numeric: Iterable[str] | None) -> DatasetSettings:
        """`wanted` with the schema panel's (or a caller's) overrides; a kind override adds to those
        loaded, since the panel reports kinds against the loaded schema."""
        if label is not None:
            same_as_default = wanted.label is None and label == self.loaded_label and self._is_loaded(wanted.path)
            wanted = replace(wanted, label=None if same_as_default else (label or None))
        if ignore is not None:
            wanted = replace(wanted, ignore=tuple(ignore))
        cat, num = set(categorical or ()), set(numeric or ())
        if cat or num or categorical is not None or numeric is not None:
            wanted = replace(wanted, categorical=tuple(sorted((set(wanted.categorical) | cat) - num)),
                         numeric=tuple(sorted((set(wanted.numeric) | num) - cat)))
        return wanted

    def needs_reload(self) -> bool:
        """Whether the row or the window's options ask for something else than what is loaded
        (the batch size aside: the loader re-batches in place)."""
        if self.loader is None or self.loaded_settings is None:
            return True
        unbatched = {k: v for k, v in self.options().items() if k != "batch_size"}
        return self.wanted(self.row.path())[0] != self.loaded_settings or unbatched != self._loaded_options

    # -- loading -------------------------------------------------------------------------
    def load(self, path: str | Path | None = None, *, labels: str | None = None, label: str | None = None,
             ignore: Iterable[str] | None = None, categorical: Iterable[str] | None = None,
             numeric: Iterable[str] | None = None) -> Job | None:
        """Load `path` (None: the path in the field, as typed) on the worker thread; the dataset on
        screen stays until the new one has loaded. Overrides left None keep the row's; `label=""`
        asks for the default label. No path at all: an error dialog, and None."""
        self._typed = path is None
        self._row_before = (self.row.path(), self.row.labels_path())
        if path is not None:
            self.row.set_path(str(path))
        text = self.row.path()
        if not text:
            self.show_error("No dataset", "Type a path, press Open, or drop a file or folder on the window.")
            return None
        same = self._is_loaded(text)
        wanted, restored = self.wanted(text, labels)
        wanted = self._with_overrides(wanted, label, ignore, categorical, numeric)
        self._show_pending(wanted, same)
        self.pending_settings, self._restored = wanted, restored and bool(wanted.describe())
        self._pending_options = {k: v for k, v in self.options().items() if k != "batch_size"}
        self._said = set()
        self.log(f"loading {text}", "info")
        if restored and wanted.describe():
            self.log(f"restored settings for {Path(text).name}: {wanted.describe()}", "info")
        job = self.runner.start("load", jobs.load_job, text, **{**self.options(), **wanted.loader_kwargs()})
        self._job = weakref.ref(job)
        return job

    @property
    def job(self) -> Job | None:
        """The last load started, while the runner keeps it."""
        return self._job() if self._job is not None else None

    def _show_pending(self, wanted: DatasetSettings, same: bool) -> None:
        """The row says what is asked for: the labels file, and the label (its columns are known
        once loaded; a new file lists only the label it asks for)."""
        if wanted.labels != self.row.labels_path():
            self.row.set_labels_path(wanted.labels)
        combo = self.row.label_combo
        names = [combo.itemText(i) for i in range(combo.count()) if combo.itemText(i) != AUTO_LABEL] if same else []
        if wanted.label and wanted.label not in names:
            names.append(wanted.label)
        self.row.set_columns(names, wanted.label)

    def reload(self, **overrides: Any) -> Job | None:
        """Load the path in the field again with the row's settings and `overrides`."""
        return self.load(**overrides)

    def on_notice(self, notice: Notice) -> None:
        """A load's notice, logged once in the window's words."""
        self._say(notice.message, notice.level)

    def _say(self, message: str, level: str) -> None:
        if message in self._said:
            return
        self._said.add(message)
        self.log(in_window_words(message), level)

    def on_loaded(self, loader: Any) -> None:
        wanted = self.pending_settings or DatasetSettings(str(getattr(loader, "path", "") or self.row.path()))
        other_file = self.loaded_settings is None or not same_file(self.loaded_settings.path, wanted.path)
        self.loader, self.loaded_settings, self._loaded_options = loader, wanted, self._pending_options
        self.pending_settings = None
        schema = loader.schema
        self.loaded_label = schema.label
        self.row.set_columns([c.name for c in schema.columns], schema.label)
        self.memory.put(wanted)
        self.preferences.remember(wanted.path)
        self.menus.set_recent(self.preferences.recent_files())
        rows = getattr(getattr(loader, "table", None), "num_rows", None)
        guess = " (a guess)" if schema.label_guessed else ""
        self.log(f"loaded {getattr(loader, 'path', None) or wanted.path}: "
                 + (f"{plural(rows, 'row')}, " if rows is not None else "")
                 + f"{plural(loader.feature_dim, 'feature')}, label '{schema.label}'{guess}, task {schema.task}, "
                 f"{plural(len(loader), 'training batch')} of {loader.batch_size}", "info")
        for warning in list(getattr(loader, "warnings", None) or ()):
            self._say(warning, "warning")
        quarantine = list(getattr(loader, "quarantine", None) or ())
        if quarantine:
            self.log(f"{plural(len(quarantine), 'record')} skipped (see the schema panel)", "warning")
        if schema.label_guessed:
            self.banner.show_guess(schema.label, getattr(schema, "label_candidates", ()) or (schema.label,))
        else:
            self.banner.hide()
        self.loaded.emit(loader, other_file)

    def on_failed(self) -> None:
        """The load failed (the window shows the error): a typed path stays in the field, with the
        labels file the user had; otherwise the row describes the dataset on screen again."""
        if self._restored and self.pending_settings is not None:
            self.memory.forget(self.pending_settings.path)
            self.log(f"the settings remembered for {Path(self.pending_settings.path).name} did not load; they are "
                     "forgotten (open it again for its defaults)", "warning")
        self.pending_settings, self._restored = None, False
        loaded = self.loaded_settings
        if self._typed:
            self.row.set_labels_path(self._row_before[1])
        elif loaded is not None:
            self.row.set_path(loaded.path)
            self.row.set_labels_path(loaded.labels)
        if self.loader is not None:
            self.row.set_columns([c.name for c in self.loader.schema.columns], self.loaded_label)

    def on_stopped(self) -> None:
        self.pending_settings = None

    # -- the guessed label ---------------------------------------------------------------
    def _on_banner_picked(self, name: str) -> None:
        if self.loaded_settings is not None:
            self.load(self.loaded_settings.path, label=name)

    def _on_banner_confirmed(self, name: str) -> None:
        if self.loaded_settings is None or name != self.loaded_label:
            return
        self.loaded_settings = replace(self.loaded_settings, label=name)
        self.memory.put(self.loaded_settings)
        self.log(f"label '{name}' confirmed; UDL remembers it for {Path(self.loaded_settings.path).name}", "info")


    # -- the ways in: the dataset row, the menus, a drop, the schema panel --------------------
    def open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.row.window(), "Open a dataset", self.preferences.last_folder(),
                                              file_dialog_filter())
        if path:
            self.load(path)

    def open_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self.row.window(), "Open a folder of images",
                                                self.preferences.last_folder())
        if path:
            self.load(path)

    def open_dropped(self, data: str, labels: str, left_out: list[str]) -> None:
        """Files dropped on the window: `data` (with its `labels` file, "" for none); the log
        names the ones `left_out`."""
        if left_out:
            names = ", ".join(Path(p).name for p in left_out)
            self.log(f"{plural(len(left_out) + 1, 'file')} dropped: loading {Path(data).name}"
                     f"{' with labels ' + Path(labels).name if labels else ''}; not loaded: {names}", "warning")
        self.load(data, labels=labels)

    def reload_with(self, overrides: dict[str, Any]) -> None:
        """The schema panel's overrides (label, ignore, categorical, numeric)."""
        self.log("reloading with overrides: " + ", ".join(f"{k}={v}" for k, v in overrides.items() if v), "info")
        self.reload(**overrides)

    def apply_batch_size(self) -> None:
        """The loader re-batches in place (no reload): only the split and the seed need one."""
        value = self.controls.batch_size_spin.value()
        if self.loader is None or self.loader.batch_size == value:
            return
        self.loader.batch_size = value
        self.log(f"batch size {value}: {plural(len(self.loader), 'training batch')}", "info")
        self.rebatched.emit()

    def input_paths(self) -> list[str | None]:
        """The dataset and labels files loaded and typed: an export never replaces one of them."""
        loaded = self.loaded_settings
        return [loaded.path if loaded else None, loaded.labels or None if loaded else None,
                getattr(self.loader, "path", None), self.row.path() or None, self.row.labels_path() or None]

    def _on_path_edit_return_pressed(self) -> None:
        self.load()

    def _on_labels_button_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.row.window(), "Open a labels file", self.preferences.last_folder(),
                                              file_dialog_filter())
        if path:
            self.row.set_labels_path(path)
            if self.row.path():
                self.reload()

    def _on_labels_edit_return_pressed(self) -> None:
        self.reload()

    def _on_label_combo_activated(self, _index: int) -> None:
        if self.row.path():
            self.reload()   # the label is read from the combo

    def _on_batch_size_spin_changed(self, _value: int) -> None:
        if not self.runner.busy:
            self.apply_batch_size()

    def _on_seed_spin_changed(self, _value: int) -> None:
        if self.loader is not None and not self.runner.busy:
            self.reload()

    def _on_menus_reload_requested(self) -> None:
        self.reload()

    def _on_menus_recent_chosen(self, path: str) -> None:
        self.load(path)

    def _on_menus_recent_cleared(self) -> None:
        self.preferences.clear_recent()
        self.menus.set_recent([])
