"""images: the image store (layers, tags, import), the built-in ``host`` image and overlay rootfs.

Modules, by ring:

* pure: ``reference`` (Docker's name grammar and normalisation), ``config``
  (image documents, ``--change`` instructions), ``model`` (shared data),
  ``host`` (the host image's plan; its ``scan_host``/``build_skeleton`` are
  small blocking helpers the store calls at open).
* blocking, run in worker threads: ``tarball`` (safe layer extraction, the
  busybox rootfs builder: ``python -m supervisor.images.tarball OUT.tar``).
* trio shell: ``store`` (``ImageStore``), ``rootfs`` (overlay mount/unmount).
"""
