"""The training area under the batch table: the controls, the progress bar, the live loss plot
(with its log-scale and clear buttons) beside the data-health strip."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSplitter, QVBoxLayout, QWidget

from udl_gui.controls import TrainingControls
from udl_gui.health_strip import HealthStrip
from udl_gui.loss_plot import LossPlot

__all__ = ["TrainingPanel"]


class TrainingPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controls = TrainingControls()
        self.loss_plot = LossPlot()
        self.loss_plot.setAcceptDrops(False)  # a drop over the plot loads a dataset, as anywhere else
        self.health_strip = HealthStrip()
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("progressBar")
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat("idle")
        self.log_scale_check = QCheckBox("Log scale")
        self.log_scale_check.setObjectName("logScaleCheck")
        self.clear_runs_button = QPushButton("Clear previous runs")
        self.clear_runs_button.setObjectName("clearRunsButton")

        plot_bar = QHBoxLayout()
        plot_bar.addWidget(QLabel("Loss"))
        plot_bar.addStretch(1)
        plot_bar.addWidget(self.log_scale_check)
        plot_bar.addWidget(self.clear_runs_button)
        plot_box = QWidget()
        plot_layout = QVBoxLayout(plot_box)
        plot_layout.setContentsMargins(0, 0, 0, 0)
        plot_layout.addLayout(plot_bar)
        plot_layout.addWidget(self.loss_plot, 1)
        self.charts = QSplitter(Qt.Orientation.Horizontal)
        self.charts.addWidget(plot_box)
        self.charts.addWidget(self.health_strip)
        self.charts.setStretchFactor(0, 3)
        self.charts.setStretchFactor(1, 2)
        self.charts.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.controls)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.charts, 1)

        self.log_scale_check.toggled.connect(self.loss_plot.set_log_scale)
        self.clear_runs_button.clicked.connect(self.loss_plot.clear_previous)
