"""Container logs: line framing, the json-file codec, rotating files, tail/since/follow readers.

The engine-facing surface:

- ``open_container_log(directory, record, daemon_opts)`` → ``ContainerLog`` (None
  for driver ``none``); run ``log.run_writer`` in the engine's nursery, register
  ``log.sink`` on the container's output fan-out, call ``log.end_run()`` when a
  run's output has ended, ``log.stop_following_restarts()`` on a manual stop,
  and ``await log.close()`` before the container's directory is removed.
- ``read_logs`` / ``read_log_runs`` for readers; ``effective_options`` and
  ``validate_log_opts`` for create and inspect.

Pure core: framing, jsonfile, options, writer (the queue). Shell: files
(blocking, called from worker threads), container_log, reader.
"""
