"""stats: cgroup v1/v2 readers, Docker-exact stats JSON and CLI math, the sampler, history, OOM, metrics.

Pure core: ``model``, ``fields``, ``cgroup_v1``, ``cgroup_v2``, ``procstat``,
``netdev``, ``math``, ``docker_json``, ``history``, ``top`` (parsing).
Shell: ``reader`` (worker-thread reads), ``sampler`` (the one trio task),
``oom`` (eventfd / inotify), ``metrics`` (Prometheus collector, TCP server).
Nothing is imported here, so the CLI can use the pure modules without trio.
"""
