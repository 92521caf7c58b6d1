"""File > Export: the loss plot as a PNG, the losses as a CSV and the processed tensors as .npz or
.parquet, to a file the user picks.

An export never replaces the dataset or labels file loaded or typed, a link, a device or a FIFO:
the plot refuses them with a `UDLError`, shown in a dialog with the path; the window stays.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QWidget

from udl_core.errors import UDLError
from udl_gui.dataset_controller import DatasetController
from udl_gui.loss_plot import LossPlot

__all__ = ["PlotExports"]


class PlotExports:
    def __init__(self, parent: QWidget, plot: LossPlot, dataset: DatasetController, log: Callable[..., None],
                 show_error: Callable[..., Any]) -> None:
        self.parent, self.plot, self.dataset, self.log, self.show_error = parent, plot, dataset, log, show_error

    def export_png(self) -> None:
        self._export("Export the loss plot", "loss.png", "PNG image (*.png)", self.plot.export_png,
                     "the plot", "Could not save the plot")

    def export_csv(self) -> None:
        self._export("Export the losses", "losses.csv", "CSV (*.csv)", self.plot.export_csv,
                     "the losses", "Could not save the losses")

    def export_tensors(self) -> None:
        """The loaded dataset's processed tensors (x, y, feature names, split, source rows) as .npz or
        .parquet (udl_core/data_export.py), checked like every output."""
        from udl_core.data_export import check_export_path, export_loader

        loader = self.dataset.loader
        if loader is None:
            self.show_error("Nothing to export", "Load a dataset first: the tensors are its processed rows.")
            return

        def write(path: str, inputs: list[str | None]) -> None:
            export_loader(loader, check_export_path(path, *inputs, what="the export"))

        self._export("Export the processed tensors", "tensors.npz", "NumPy archive (*.npz);;Parquet (*.parquet)",
                     write, "the processed tensors", "Could not export the tensors")

    def _export(self, caption: str, name: str, filter_: str, write: Callable[[str, list[str | None]], object],
                what: str, failed: str) -> None:
        folder = Path(self.dataset.preferences.last_folder())
        path, _ = QFileDialog.getSaveFileName(self.parent, caption, str(folder / name), filter_)
        if not path:
            return
        try:
            write(path, self.dataset.input_paths())
            self.log(f"saved {what} to {path}")
        except UDLError as exc:
            self.show_error(failed, str(exc))
        except OSError as exc:
            self.show_error(failed, f"{path}: {exc.strerror or exc}")
