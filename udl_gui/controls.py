"""The control rows of the window: the dataset row, the batch toolbar and the training controls.

Each is a plain widget holding the named children (object names in docs/conventions.md, "Contracts"); the window
wires their signals. Nothing here runs a job.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QWidget,
)

from udl_gui.toggle_switch import ToggleSwitch

__all__ = ["BatchToolbar", "DatasetRow", "ElidedLabel", "TrainingControls"]

AUTO_LABEL = "(auto)"
# The checked one of Processed / Raw is filled with the palette's highlight: the style's own
# sunken look is nearly invisible in a dark palette. The colours are written out from the
# palette (and again when it changes): a style sheet's palette(...) is read only once.
VIEW_TOGGLE_STYLE = (
    "QToolButton {{ padding: 2px 8px; border: 1px solid {mid}; border-radius: 3px;"
    " background: {button}; color: {button_text}; }}"
    " QToolButton:hover:!checked {{ background: {midlight}; }}"
    " QToolButton:checked {{ background: {highlight}; color: {highlighted_text}; border-color: {highlight}; }}"
)


class ElidedLabel(QLabel):
    """A one-line label that gives up its width: the text ends in \u2026 when it does not fit
    (the whole text in the tooltip), so a long line never widens the window."""

    def minimumSizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance("\u2026") * 4, super().minimumSizeHint().height())

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(rect, int(self.alignment()), text)


class DatasetRow(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("datasetPathEdit")
        self.path_edit.setPlaceholderText("A file or a folder: CSV, JSON, Parquet, Arrow, NPY/NPZ, images; or drop it here")
        self.path_edit.setClearButtonEnabled(True)
        self.path_edit.setToolTip("Type a path and press Return to load it")
        self.open_button = QPushButton("Open\u2026")
        self.open_button.setObjectName("openDatasetButton")
        self.open_button.setToolTip("Choose a dataset file (\u2318O / Ctrl+O)")
        self.folder_button = QToolButton()
        self.folder_button.setObjectName("openFolderButton")
        self.folder_button.setText("Folder\u2026")
        self.folder_button.setToolTip("Choose a folder of images (one subfolder per class)")
        self.labels_edit = QLineEdit()
        self.labels_edit.setObjectName("labelsPathEdit")
        self.labels_edit.setPlaceholderText("optional labels file")
        self.labels_edit.setClearButtonEnabled(True)
        self.labels_edit.setToolTip("A second file holding the labels (X.npy + y.npy, features.csv + labels.csv)")
        self.labels_button = QToolButton()
        self.labels_button.setObjectName("openLabelsButton")
        self.labels_button.setText("\u2026")
        self.labels_button.setToolTip("Choose a labels file")
        self.label_combo = QComboBox()
        self.label_combo.setObjectName("labelColumnCombo")
        self.label_combo.setToolTip("The label column; (auto) picks label/target/class/y, else the last column "
                                    "that can be a label (a guess)")
        self.label_combo.setMinimumContentsLength(12)
        self.label_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.label_combo.addItem(AUTO_LABEL)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Dataset"))
        layout.addWidget(self.path_edit, 3)
        layout.addWidget(self.open_button)
        layout.addWidget(self.folder_button)
        layout.addSpacing(12)
        layout.addWidget(QLabel("Labels"))
        layout.addWidget(self.labels_edit, 1)
        layout.addWidget(self.labels_button)
        layout.addSpacing(12)
        layout.addWidget(QLabel("Label column"))
        layout.addWidget(self.label_combo)
        for edit in (self.path_edit, self.labels_edit):
            edit.setAcceptDrops(False)  # file drops go to the window, which loads them

    # A path can hold bytes Qt cannot show (a file name that is not UTF-8, kept by Python as
    # surrogates): the exact path is kept beside the field and used while the field is unedited.
    def set_path(self, path: str) -> None:
        self.path_edit.setText(path)
        self._exact_path = (self.path_edit.text(), path)

    def path(self) -> str:
        return self._exact(self.path_edit, getattr(self, "_exact_path", None))

    def set_labels_path(self, path: str) -> None:
        self.labels_edit.setText(path)
        self._exact_labels = (self.labels_edit.text(), path)

    def labels_path(self) -> str:
        return self._exact(self.labels_edit, getattr(self, "_exact_labels", None))

    @staticmethod
    def _exact(edit: QLineEdit, exact: tuple[str, str] | None) -> str:
        text = edit.text()
        if exact is not None and text == exact[0]:
            return exact[1].strip()
        return text.strip()

    def label(self) -> str | None:
        text = self.label_combo.currentText()
        return None if text in ("", AUTO_LABEL) else text

    def set_columns(self, names: list[str], current: str | None) -> None:
        self.label_combo.blockSignals(True)
        self.label_combo.clear()
        self.label_combo.addItem(AUTO_LABEL)
        self.label_combo.addItems(names)
        if current in names:
            self.label_combo.setCurrentText(current)
        self.label_combo.blockSignals(False)


class BatchToolbar(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.index_spin = QSpinBox()
        self.index_spin.setObjectName("batchIndexSpin")
        self.index_spin.setRange(0, 0)
        self.index_spin.setKeyboardTracking(False)
        self.index_spin.setToolTip("Which batch to show (0 is the first)")
        self.of_label = QLabel("of 0")
        self.prev_button = QToolButton()
        self.prev_button.setObjectName("prevBatchButton")
        self.prev_button.setArrowType(Qt.ArrowType.LeftArrow)
        self.prev_button.setToolTip("Previous batch")
        self.next_button = QToolButton()
        self.next_button.setObjectName("nextBatchButton")
        self.next_button.setArrowType(Qt.ArrowType.RightArrow)
        self.next_button.setToolTip("Next batch")
        self.split_combo = QComboBox()
        self.split_combo.setObjectName("splitCombo")
        self.split_combo.addItems(["train", "val"])
        self.split_combo.setToolTip("Show the training batches or the validation batches")
        self.processed_button = QToolButton()
        self.processed_button.setObjectName("processedViewButton")
        self.processed_button.setText("Processed tensors")
        self.processed_button.setCheckable(True)
        self.processed_button.setChecked(True)
        self.raw_button = QToolButton()
        self.raw_button.setObjectName("rawViewButton")
        self.raw_button.setText("Raw rows")
        self.raw_button.setCheckable(True)
        self.view_group = QButtonGroup(self)
        self.view_group.setExclusive(True)
        self.view_group.addButton(self.processed_button)
        self.view_group.addButton(self.raw_button)
        self._style_view_buttons()
        self.info = ElidedLabel("")
        self.info.setObjectName("batchInfo")

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Batch"))
        layout.addWidget(self.prev_button)
        layout.addWidget(self.index_spin)
        layout.addWidget(self.next_button)
        layout.addWidget(self.of_label)
        layout.addSpacing(8)
        layout.addWidget(self.split_combo)
        layout.addSpacing(8)
        layout.addWidget(self.processed_button)
        layout.addWidget(self.raw_button)
        layout.addSpacing(8)
        layout.addWidget(self.info, 1)

    @property
    def raw(self) -> bool:
        return self.raw_button.isChecked()

    def _style_view_buttons(self) -> None:
        palette, role = self.palette(), QPalette.ColorRole
        colors = {name: palette.color(getattr(role, key)).name() for name, key in (
            ("mid", "Mid"), ("button", "Button"), ("button_text", "ButtonText"), ("midlight", "Midlight"),
            ("highlight", "Highlight"), ("highlighted_text", "HighlightedText"))}
        for button in (self.processed_button, self.raw_button):
            button.setStyleSheet(VIEW_TOGGLE_STYLE.format(**colors))

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange:  # light <-> dark
            self._style_view_buttons()


class TrainingControls(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.train_switch = ToggleSwitch("TRAIN_MODEL")
        self.train_switch.setObjectName("trainModelSwitch")
        self.train_switch.setToolTip("Off: Run walks every batch and reports speed and problems. "
                                     "On: Run trains a small MLX model on the batches.")
        self.device_combo = QComboBox()
        self.device_combo.setObjectName("deviceCombo")
        self.device_combo.addItems(["Auto", "GPU", "CPU"])
        self.device_combo.setToolTip("Where MLX trains: Auto uses the GPU when MLX has one")
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setObjectName("epochsSpin")
        self.epochs_spin.setRange(1, 10_000)
        self.epochs_spin.setValue(5)
        self.batch_size_spin = QSpinBox()
        self.batch_size_spin.setObjectName("batchSizeSpin")
        self.batch_size_spin.setRange(1, 65_536)
        self.batch_size_spin.setValue(32)
        self.batch_size_spin.setKeyboardTracking(False)
        self.batch_size_spin.setToolTip("Rows per batch (changing it reloads the batches)")
        self.seed_spin = QSpinBox()
        self.seed_spin.setObjectName("seedSpin")
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setKeyboardTracking(False)
        self.seed_spin.setToolTip("Seed of the split and the shuffle (changing it reloads the batches)")
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setObjectName("learningRateSpin")
        self.lr_spin.setDecimals(5)
        self.lr_spin.setRange(0.00001, 1.0)
        self.lr_spin.setSingleStep(0.0005)
        self.lr_spin.setValue(0.001)
        self.lr_spin.setToolTip("Adam's learning rate")
        self.model_combo = QComboBox()
        self.model_combo.setObjectName("modelCombo")
        self.model_combo.addItems(["mlp", "linear"])
        self.model_combo.setToolTip("mlp: two hidden layers; linear: one Linear layer")
        self.run_button = QPushButton("Run")
        self.run_button.setObjectName("runButton")
        self.run_button.setDefault(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setEnabled(False)
        self.stop_button.setToolTip("Stop the running job (Esc)")

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        pairs = [("Device", self.device_combo), ("Model", self.model_combo), ("Epochs", self.epochs_spin),
                 ("Batch size", self.batch_size_spin), ("Learning rate", self.lr_spin), ("Seed", self.seed_spin)]
        # Two rows of three, so that the window fits a 1,024 px screen: the model's options
        # above, the data's below, Run over Stop at the right.
        grid.addWidget(self.train_switch, 0, 0)
        for i, (text, widget) in enumerate(pairs):
            label = QLabel(text)
            label.setBuddy(widget)
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            row, col = divmod(i, 3)
            grid.addWidget(label, row, 1 + 2 * col)
            grid.addWidget(widget, row, 2 + 2 * col)
        grid.setColumnStretch(7, 1)
        grid.addWidget(self.run_button, 0, 8)
        grid.addWidget(self.stop_button, 1, 8)
        self.set_training(False)
        self.train_switch.toggled.connect(self.set_training)

    def set_training(self, on: bool) -> None:
        """The training-only controls are enabled with the switch; Run's text says what it does."""
        for widget in (self.device_combo, self.model_combo, self.epochs_spin, self.lr_spin):
            widget.setEnabled(on)
        self.run_button.setToolTip(("Train the model on the batches" if on
                                    else "Load, preprocess and walk every batch; report speed and problems")
                                   + " (Ctrl+Return)")

    def device(self) -> str:
        return self.device_combo.currentText().lower()

    def set_gpu(self, available: bool, reason: str) -> None:
        item = self.device_combo.model().item(1)
        item.setEnabled(available)
        item.setToolTip("" if available else reason)
        if not available:
            self.device_combo.setItemData(1, reason, Qt.ItemDataRole.ToolTipRole)
            if self.device_combo.currentIndex() == 1:
                self.device_combo.setCurrentIndex(0)
            self.device_combo.setToolTip(f"Where MLX trains. GPU: unavailable. {reason}")
