"""Which MLX device a run uses: the GPU when MLX has one (Metal, or CUDA with `mlx[cuda]`), else the CPU."""

from __future__ import annotations

import platform

from udl_core.errors import DeviceUnavailableError
from udl_core.events import Notice
from udl_core.mlx_runtime import mx

__all__ = ["DEVICE_CHOICES", "device_name", "gpu_available", "gpu_unavailable_reason", "resolve_device"]

DEVICE_CHOICES: tuple[str, ...] = ("auto", "gpu", "cpu")


def _backend_available(name: str) -> bool:
    backend = getattr(mx, name, None)
    check = getattr(backend, "is_available", None)
    if check is None:
        return False
    try:
        return bool(check())
    except Exception:  # a broken driver is the same as no GPU here
        return False


def gpu_available() -> bool:
    """True when MLX can run on a GPU in this process (Metal on macOS, CUDA on Linux)."""
    return _backend_available("metal") or _backend_available("cuda")


def gpu_unavailable_reason() -> str:
    """One sentence for a tooltip or an error: why there is no GPU ("" when there is one)."""
    if gpu_available():
        return ""
    system = platform.system()
    if system == "Darwin":
        return "MLX reports no Metal GPU on this Mac (Apple silicon and macOS 13.5 or later are needed)."
    if system == "Linux":
        return ("This MLX build has no GPU backend: the Linux `mlx[cpu]` wheel runs on the CPU only; "
                "install `mlx[cuda]` on a machine with an NVIDIA GPU to train on it.")
    return f"MLX has no GPU backend on {system or 'this system'}."


def device_name(device: mx.Device) -> str:
    """"gpu" or "cpu", as the CLI and the GUI print it."""
    return "gpu" if device.type == mx.gpu else "cpu"


def resolve_device(requested: str | None = "auto") -> tuple[mx.Device, Notice | None]:
    """The device for `requested` ("auto", "gpu" or "cpu") and, for a fallback, a notice to show once.

    "gpu" where none exists raises `DeviceUnavailableError`; "auto" falls back to the CPU.
    """
    choice = (requested or "auto").lower()
    if choice not in DEVICE_CHOICES:
        raise DeviceUnavailableError(f"unknown device {requested!r}: choose one of {', '.join(DEVICE_CHOICES)}")
    if choice == "cpu":
        return mx.Device(mx.cpu), None
    if gpu_available():
        return mx.Device(mx.gpu), None
    if choice == "gpu":
        raise DeviceUnavailableError(f"a GPU was requested but none is available. {gpu_unavailable_reason()} "
                                     "Use --device cpu or --device auto.")
    return mx.Device(mx.cpu), Notice("no GPU available to MLX; training on the CPU. " + gpu_unavailable_reason())
