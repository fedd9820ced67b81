"""The dashboard's tabs, one :class:`panel.viewable.Viewer` each, drawn by the shell
(:mod:`app.dashboard`) when they are open and the day on screen changes."""
