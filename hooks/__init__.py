"""Scripts that copier.yml's `_tasks` and `_migrations` run in a generated service."""
