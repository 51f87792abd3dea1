"""berth: a container engine and service supervisor for one Linux box.

The import package is ``supervisor``; the distribution and the CLI are ``berth``.
Three rings are kept visible in the imports: a pure core (models, decisions,
codecs: no trio, no I/O, no clock), a thin trio shell around it (tasks,
processes, files, sockets) and the edges (the Docker Engine API and the CLI).
"""

__version__ = "0.1.0"
