"""Building and installing the desktop app: the icon set, the PyInstaller spec, the Linux desktop entry."""
