"""Volumes and container mounts: the local driver, mount parsing, copy-up, path safety.

Entry point: ``service.VolumeService`` (engine: register/resolve_mounts/release;
API: create/list/remove/prune). Parsers in ``specs``, planning in ``plan``.
"""
